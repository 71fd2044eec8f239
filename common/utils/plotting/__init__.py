"""Plots of what the student kept, the same in every domain (matplotlib's Agg backend: no display needed).

=====================================  =====================================================================
``plot_curves`` / ``history_series``   learning curves against epochs or environment steps; over seeds the
                                       mean with a shaded ± std band, at the x values every seed has
``plot_training_progress``             a run's loss, accuracy and perplexity curves per epoch
``plot_bars``                          one bar per model: mean, ± std whisker, a dot per seed, the value
                                       printed, the axis zoomed in when differences are small
``plot_tradeoff``                      quality against parameters, FLOPs and latency
``plot_reliability``                   reliability diagram (calibration) of several models
``plot_confusion_difference``          where a student's mistakes differ from its teacher's, per class pair
``figures_markdown``                   the plots as captioned images in a summary.md
``markdown_grid``                      a markdown table of given cells (the domains' tables format them)
``Palette``                            one colour per model across every plot of a run
=====================================  =====================================================================

Every figure uses constrained layout, wraps its title and long names, puts legends below the axes and is
written on rank 0 only under torch.distributed; the plot functions return the saved ``Figure`` (or None when
there was nothing to draw), whose artists can be inspected.
"""
from kd.common.utils.plotting.bars import plot_bars
from kd.common.utils.plotting.confusion import confusion_difference, plot_confusion_difference
from kd.common.utils.plotting.curves import history_series, plot_curves, plot_training_progress
from kd.common.utils.plotting.markdown import figures_markdown, markdown_grid
from kd.common.utils.plotting.reliability import plot_reliability
from kd.common.utils.plotting.style import Palette
from kd.common.utils.plotting.tradeoff import plot_tradeoff

__all__ = ["Palette", "confusion_difference", "figures_markdown", "history_series", "markdown_grid", "plot_bars",
           "plot_confusion_difference", "plot_curves", "plot_reliability", "plot_tradeoff",
           "plot_training_progress"]
