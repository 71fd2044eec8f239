"""Plots and tables in a summary.md, so a run folder reads as a report in any markdown viewer."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence
from urllib.parse import quote


def figures_markdown(figures: Sequence[tuple[str, str | Path | None]], base: str | Path,
                     heading: str = "Figures", level: int = 2) -> str:
    """A markdown section (``heading`` at ``level``) with one captioned image per ``(caption, path)`` (paths that
    are None or were not written are skipped), each linked relative to ``base``, the folder of the markdown
    file. Empty when there is none."""
    lines = []
    for caption, path in figures:
        if path is None or not Path(path).is_file():
            continue
        link = quote(Path(os.path.relpath(path, base)).as_posix())
        lines += [f"**{caption}**", "", f"![{Path(path).stem}]({link})", ""]
    return f"{'#' * level} {heading}\n\n" + "\n".join(lines) if lines else ""


def markdown_grid(header: Sequence[str], rows: Iterable[Sequence[object]], align: str = "") -> str:
    """A markdown table of ``header`` and ``rows`` of cells (each shown with ``str``); ``align`` holds one letter per
    column, ``l`` or ``r`` (right-aligned, as numbers read best), the columns past it left-aligned."""
    rules = ["---:" if a == "r" else "---" for a in align.ljust(len(header), "l")]
    lines = ["| " + " | ".join(header) + " |", "|" + "".join(f"{rule}|" for rule in rules)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
