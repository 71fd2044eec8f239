"""Every plot type of kd.common.utils.plotting, drawn from small fixtures: a valid PNG of a sensible size is
written, and the spread over seeds is really drawn (bands, whiskers), checked on the returned figures."""
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.container import ErrorbarContainer

from kd.common.metrics import calibration_bins, confusion_matrix
from kd.common.utils.plotting import (Palette, confusion_difference, figures_markdown, history_series, plot_bars,
                                      plot_confusion_difference, plot_curves, plot_reliability, plot_tradeoff,
                                      plot_training_progress)

LONG = "student + KD (resnet8x4, kd, offline; 10% labelled + the rest unlabelled)"


def test_curves_draw_the_mean_and_a_std_band_over_seeds(tmp_path, assert_png):
    runs = [{e: 90 + e + s for e in range(1, 6)} for s in (-1, 0, 1)]
    fig = plot_curves({"teacher": [{e: 97.0 + 0.1 * e for e in range(1, 6)}], LONG: runs}, tmp_path / "c.png",
                      xlabel="epoch", ylabel="test accuracy (%)", title="a title " * 12, integer_x=True)
    assert_png(tmp_path / "c.png")
    (ax,) = fig.axes[:1]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 1  # the seeded model only
    mean = ax.get_lines()[1].get_ydata()
    assert list(mean) == pytest.approx([91, 92, 93, 94, 95])
    assert all(float(t).is_integer() for t in ax.get_xticks())


def test_curves_over_seeds_stop_where_a_seed_stops(tmp_path):
    """A seed cut short (a time budget) after epoch 3 of 5: the mean over seeds is drawn for epochs 1-3 only, where
    both seeds have a point; a mean of the longer seed alone at 4-5 would drop from 15 to 10 as if the model got
    worse. The note says what was left out."""
    fig = plot_curves({"kd": [{e: 10.0 for e in range(1, 6)}, {e: 20.0 for e in range(1, 4)}]}, tmp_path / "c.png",
                      xlabel="epoch", ylabel="test accuracy (%)", integer_x=True)
    ax = fig.axes[0]
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == [1, 2, 3] and list(line.get_ydata()) == pytest.approx([15.0, 15.0, 15.0])
    assert "(2 others left out)" in ax.get_title()


def test_curves_of_a_history_with_references_and_environment_steps(tmp_path, assert_png):
    history = [{"steps": s, "eval_return": s / 1000, "loss": 1.0} for s in range(0, 200_001, 20_000)]
    series = history_series(history, {"evaluation return": "eval_return", "absent": "nothing"}, x_key="steps")
    assert list(series) == ["evaluation return"]
    fig = plot_curves(series, tmp_path / "r.png", xlabel="environment steps", ylabel="episode return",
                      references={"teacher": 150.0})
    assert_png(tmp_path / "r.png")
    assert "k" in fig.axes[0].xaxis.get_major_formatter().format_data(100_000)
    assert plot_curves({"empty": [{}]}, tmp_path / "none.png", xlabel="x", ylabel="y") is None
    assert not (tmp_path / "none.png").exists()


def test_training_progress_writes_loss_accuracy_and_perplexity(tmp_path, assert_png):
    history = [{"epoch": e, "loss": 1 / e, "loss_kd": 0.5 / e, "test_acc": 80 + e, "test_agreement": 85 + e,
                "val_ppl": 50 / e, "lr": 0.1} for e in range(1, 5)]
    written = plot_training_progress(history, tmp_path, title="teacher")
    assert [p.name for p in written] == ["loss.png", "accuracy.png", "perplexity.png"]
    for path in written:
        assert_png(path)


def test_bars_zoom_in_on_small_differences_and_show_the_spread(tmp_path, assert_png):
    values = {"teacher (cnn)": [98.9], LONG: [98.0, 98.1, 98.3],
              "student alone (mlp; 10% labelled)": [97.9, 98.2, 98.2]}
    fig = plot_bars(values, tmp_path / "b.png", xlabel="test top-1 accuracy (%)", title="digits")
    assert_png(tmp_path / "b.png")
    ax = fig.axes[0]
    assert ax.get_xlim()[0] > 90  # zoomed: 98.0 vs 98.2 would be invisible on 0-100
    assert any(isinstance(c, ErrorbarContainer) for c in ax.containers)
    texts = [t.get_text() for t in ax.texts]
    assert "98.90" in texts and "98.13 ± 0.15" in texts
    wide = plot_bars({"a": [20.0], "b": [95.0]}, tmp_path / "w.png", xlabel="accuracy (%)", ceiling=100)
    assert wide.axes[0].get_xlim()[0] == 0.0  # large differences: the axis starts at zero
    assert max(wide.axes[0].get_xticks()) <= 100  # the room for the printed values is not labelled 120 %
    negative = plot_bars({"teacher": [-150.0, -160.0], "student": [-900.0, -1100.0]}, tmp_path / "n.png",
                         xlabel="episode return", fmt="{:.1f}")
    ax = negative.axes[0]
    assert ax.get_xlim()[1] == 0.0 and ax.get_xlim()[0] < -1100  # returns below zero: bars grow to the left
    assert [t.get_horizontalalignment() for t in ax.texts] == ["right", "right"]  # values printed left of them


def test_tradeoff_has_one_panel_per_cost_and_whiskers_for_seeds(tmp_path, assert_png):
    values = {"teacher": [99.0], "student + KD": [97.0, 97.4, 97.2], "student alone": [95.0, 95.5, 95.2]}
    costs = {"teacher": {"params": 3e6, "flops": 5e8, "latency_ms": 4.0},
             "student + KD": {"params": 1e5, "flops": 1e5, "latency_ms": 0.2},
             "student alone": {"params": 1e5, "flops": 1e5, "latency_ms": 0.21}}
    labels = {"params": "parameters", "flops": "FLOPs per image", "latency_ms": "latency (ms, batch 1)",
              "missing": "never drawn"}
    fig = plot_tradeoff(values, costs, tmp_path / "t.png", ylabel="test accuracy (%)", cost_labels=labels,
                        title="accuracy vs cost")
    assert_png(tmp_path / "t.png", min_width=900)
    panels = [ax for ax in fig.axes if ax.get_xlabel()]
    assert [ax.get_xlabel() for ax in panels] == list(labels.values())[:3]
    assert panels[0].get_xscale() == "log"
    whiskers = [c for c in panels[0].containers if isinstance(c, ErrorbarContainer) and c.has_yerr]
    assert len(whiskers) == 2
    kd_x, alone_x = (c.lines[0].get_xdata()[0] for c in whiskers)  # equal cost: set apart, around 1e5
    assert kd_x != alone_x and kd_x * alone_x == pytest.approx(1e10)
    assert plot_tradeoff(values, {}, tmp_path / "none.png", ylabel="y", cost_labels=labels) is None


def test_reliability_diagram_from_logits(tmp_path, assert_png):
    torch.manual_seed(0)
    labels = torch.randint(0, 10, (500,))
    sharp = torch.nn.functional.one_hot(labels, 10).float() * 6 + 1.5 * torch.randn(500, 10)
    bins = {"teacher": calibration_bins(sharp, labels), "student": calibration_bins(sharp / 3, labels)}
    assert sum(bins["teacher"]["count"]) == 500
    fig = plot_reliability(bins, tmp_path / "rel.png", title="calibration", ece={"teacher": 1.0, "student": 9.5})
    assert_png(tmp_path / "rel.png")
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("ECE 9.50%" in t for t in legend)
    top = fig.axes[0]
    teacher_line, teacher_few = top.lines[1], top.lines[2]  # after the diagonal: the trusted bins, then the few
    counts = bins["teacher"]["count"]
    assert 0 < sum(n < 10 for n in counts) < len(counts)  # the fixture has both kinds of bins
    assert len(teacher_line.get_xdata()) == sum(n >= 10 for n in counts)
    assert len(teacher_few.get_xdata()) == sum(n < 10 for n in counts) and teacher_few.get_linestyle() == "None"


def test_confusion_difference_shows_the_classes_that_differ_most(tmp_path, assert_png):
    labels = torch.arange(20).repeat(10)
    teacher = torch.nn.functional.one_hot(labels, 20).float()
    student_pred = labels.clone()
    student_pred[labels == 3] = 5  # the student calls every 3 a 5
    student = torch.nn.functional.one_hot(student_pred, 20).float()
    t_cm, s_cm = confusion_matrix(teacher, labels), confusion_matrix(student, labels)
    assert t_cm.trace() == 200 and s_cm[3, 5] == 10
    diff = confusion_difference(s_cm.tolist(), t_cm.tolist())
    assert diff[3, 5] == 100 and diff[3, 3] == -100
    names = [f"class number {i} with a long name" for i in range(20)]
    fig = plot_confusion_difference(s_cm, t_cm, names, tmp_path / "cd.png", title="student vs teacher",
                                    max_classes=6)
    assert_png(tmp_path / "cd.png")
    ax = fig.axes[0]
    shown = [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()]
    assert len(shown) == 6 and any(s.startswith("class number 3") for s in shown)
    assert any(t.get_text() == "+100.0" for t in ax.texts)


def test_a_long_legend_grows_the_figure_instead_of_squeezing_the_plot(tmp_path):
    """Eleven models with long names (an NLP report's method settings): the legend below takes its own room, the
    panels keep the 4.6 inches the figure was planned with, less the title and axis labels, and the eleventh model,
    whose colour comes round again, has a marker of its own."""
    names = [f"{LONG} {i}" for i in range(11)]
    values = {name: [70.0 + i] for i, name in enumerate(names)}
    costs = {name: {"params": 1e6 * (i + 1)} for i, name in enumerate(names)}
    fig = plot_tradeoff(values, costs, tmp_path / "t.png", ylabel="dev accuracy (%)",
                        cost_labels={"params": "parameters"}, title="many models")
    (panel,) = [ax for ax in fig.axes if ax.get_xlabel()]
    canvas = FigureCanvasAgg(fig)  # saving closed the figure: lay it out again, as it was saved
    canvas.draw()
    renderer = canvas.get_renderer()
    legend, plot = fig.legends[0].get_window_extent(renderer), panel.get_tightbbox(renderer)  # with tick labels
    assert legend.y1 <= plot.y0 and panel.get_window_extent().height / fig.dpi > 2.5
    assert fig.get_figheight() > 4.6 + 2.0  # eleven wrapped legend entries below it
    markers = {c.lines[0].get_marker() for c in panel.containers}
    assert len(markers) == 2  # ten models with circles, the eleventh with squares


def test_palette_keeps_colours_and_markdown_links_relative(tmp_path):
    palette = Palette(["teacher", "student"])
    assert palette["student"] == Palette(["teacher", "student"])["student"] != palette["teacher"]
    eleventh = Palette([f"model {i}" for i in range(11)])
    assert eleventh["model 10"] == eleventh["model 0"] and eleventh.marker("model 10") != eleventh.marker("model 0")
    plots = tmp_path / "plots"
    plot_bars({"a b": [1.0], "c": [2.0]}, plots / "my bars.png", xlabel="x", palette=palette)
    text = figures_markdown([("Bars", plots / "my bars.png"), ("Missing", plots / "none.png"), ("None", None)],
                            tmp_path)
    assert text.startswith("## Figures") and "![my bars](plots/my%20bars.png)" in text and "Missing" not in text
    assert figures_markdown([("Missing", plots / "none.png")], tmp_path) == ""
