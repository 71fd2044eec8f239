"""Where a teacher's outputs on the training set are kept, so that they are computed once and shared.

Offline students read the teacher's training-set logits (classification) or its beam outputs (sequence-level KD,
translation) instead of running the teacher. The file lives in ``distill.cache_dir`` (null: the run folder) as

    <data set>-<teacher fingerprint>-<data key>-<what>.pt

The teacher fingerprint is the SHA-256 of its checkpoint file (of every file, for a ``save_pretrained`` folder,
given as ``teacher.checkpoint`` or as ``teacher.name``; the hub id itself for a model named on the hub; of its members' fingerprints, for an ensemble), so a retrained
teacher never reuses stale outputs. The data key hashes the settings that change the rows (files, columns, subset,
max_length, ...), so another subset is computed anew. Students pointed at one folder therefore share one labelling.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from kd.common.utils.checkpoint import file_fingerprint
from kd.common.utils.run_folder import RunFolder


def teacher_fingerprint(teacher_cfg: dict) -> str:
    """16 hex digits naming the teacher: its ``checkpoint`` file's (or folder's) content, else its ``name``'s (the
    content of a ``save_pretrained`` folder, the id of a hub model); for a list of checkpoints (an ensemble, the mean
    of their logits), the set of its members' fingerprints."""
    source = teacher_cfg.get("checkpoint")
    if not source:
        name = str(teacher_cfg["name"])
        return _folder_fingerprint(Path(name)) if Path(name).is_dir() else hashlib.sha256(name.encode()).hexdigest()[:16]
    if isinstance(source, list):
        members = sorted(teacher_fingerprint({"checkpoint": member}) for member in source)
        return members[0] if len(members) == 1 else hashlib.sha256(" ".join(members).encode()).hexdigest()[:16]
    path = Path(source)
    return _folder_fingerprint(path) if path.is_dir() else file_fingerprint(path)


def _folder_fingerprint(folder: Path) -> str:
    """16 hex digits of every file's path and content in ``folder``: a model fine-tuned again in place is another."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    digests = [f"{p.relative_to(folder)}:{file_fingerprint(p)}" for p in files]
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()[:16]


def teacher_cache_path(cfg: dict, run: RunFolder, data_settings: dict, what: str) -> Path:
    """The cache file for ``what`` (e.g. ``teacher_logits.pt``) of the teacher ``cfg['teacher']`` on the training
    rows that ``data_settings`` (the config values that change them) describe."""
    data_key = hashlib.sha256(json.dumps(data_settings, sort_keys=True, default=str).encode()).hexdigest()[:8]
    folder = Path(cfg["distill"].get("cache_dir") or run.path)
    return folder / f"{cfg['data']['name']}-{teacher_fingerprint(cfg['teacher'])}-{data_key}-{what}"
