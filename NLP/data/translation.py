"""Multi30k German->English (Elliott et al. 2016): hub download or the local gzip files.

Local layout (``data.path=FOLDER``): ``FOLDER/{train,val,test_2016_flickr}.{de,en}.gz`` (plain ``.de``/``.en``
files work too), one sentence a line, lines aligned -- the layout of github.com/multi30k/dataset.
Returns ``{"train": [(de, en), ...], "validation": [...], "test": [...]}``. Each data set takes only its own
keywords (an unknown one is a one-line ConfigError; the task picks them from its config with
:func:`kd.common.utils.registry.section_options`).
"""
from __future__ import annotations

from pathlib import Path

from kd.common.utils.errors import MissingPathError
from kd.common.utils.registry import Registry
from kd.nlp.data.hub import load_hub_dataset
from kd.nlp.data.local_files import read_parallel

# One corpus so far, in a registry all the same: data.name is checked and its choices listed as in the other tasks,
# data.* keys are given to the entry with section_options, and a corpus of one's own is one more register() call.
TRANSLATION_DATASETS: Registry[dict] = Registry("translation data set")
MULTI30K_FILES = {"train": "train", "validation": "val", "test": "test_2016_flickr"}


def _pick(folder: Path, stem: str, lang: str) -> Path:
    for name in (f"{stem}.{lang}.gz", f"{stem}.{lang}"):
        if (folder / name).is_file():
            return folder / name
    raise MissingPathError(f"'{folder / (stem + '.' + lang + '.gz')}' does not exist; the Multi30k folder needs "
                           "{train,val,test_2016_flickr}.{de,en}.gz")


@TRANSLATION_DATASETS.register("multi30k")
def multi30k(path: str | None = None) -> dict:
    """The (German, English) pairs of each split, from the folder ``path`` or, with None, the hub (bentrevett/multi30k);
    the layout and the splits are the module docstring's."""
    if path is None:
        ds = load_hub_dataset("bentrevett/multi30k", None,
                              "pass data.path=FOLDER holding {train,val,test_2016_flickr}.{de,en}.gz, "
                              "e.g. data.path=/path/to/multi30k")
        return {split: list(zip(ds[split]["de"], ds[split]["en"])) for split in MULTI30K_FILES}
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise MissingPathError(f"data folder '{folder}' does not exist")
    return {split: read_parallel(_pick(folder, stem, "de"), _pick(folder, stem, "en"))
            for split, stem in MULTI30K_FILES.items()}
