"""The NLP report from hand-made run folders: seeds of one setting become one row (mean +- std), evaluate runs are
left out, and the summary embeds the quality bars, the trade-off and the learning curves over seeds."""
import json
from pathlib import Path

import pytest
import yaml

from kd.common.utils.cli import main_entry
from kd.nlp.scripts import report


def fake_run(root: Path, name: str, stage: str, seed: int, final: dict, dev_acc: list[float], **settings) -> None:
    """A finished NLP run folder as kd.nlp.scripts.launch leaves it, without training."""
    run = root / name
    run.mkdir(parents=True)
    config = {"name": "sst2", "task": "classification", "seed": seed, "evaluate": {"throughput_batch": 32},
              "data": {"path": str(root / name)}, **settings}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    history = [{"epoch": e + 1, "loss": 1.0 / (e + 1), "dev_acc": acc} for e, acc in enumerate(dev_acc)]
    (run / "metrics.json").write_text(json.dumps({"history": history, "final": {**final, "stage": stage}}))


def test_report_groups_seeds_and_embeds_its_plots(tmp_path, assert_png):
    teacher = {"model": "teacher (minilm)", "dev_acc": 88.0, "params": 22_000_000, "throughput": 200.0}
    fake_run(tmp_path, "teacher", "train_teacher", 0, teacher, [85.0, 88.0])
    for seed in (0, 1, 2):
        for label, base in (("small_bert + kd", 82.0), ("small_bert alone", 79.0)):
            final = {"model": label, "dev_acc": base + seed, "params": 4_400_000, "throughput": 900.0}
            fake_run(tmp_path, f"{label}-{seed}", "distill", seed, final, [70.0 + seed, base + seed, base + seed])
    fake_run(tmp_path, "evaluate", "evaluate", 0, {**teacher, "model": "runs/x/checkpoints/model.pt"}, [])
    text = report.main(["--runs", str(tmp_path), "--out", str(tmp_path / "report")])
    assert "| small_bert + kd | 3 | 83.00 ± 1.00 | 4,400,000 | 1.11 |" in text  # 1000 / 900 examples per s
    assert "| teacher (minilm) | 1 | 88.00 | 22,000,000 | 5.00 |" in text and "model.pt" not in text
    assert text.index("| teacher") < text.index("| small_bert + kd") < text.index("| small_bert alone")
    summary = (tmp_path / "report" / "summary.md").read_text()
    for plot in ("sst2-quality", "sst2-tradeoff", "sst2-curves"):
        assert_png(tmp_path / "report" / "plots" / f"{plot}.png")
        assert f"![{plot}](plots/{plot}.png)" in summary


def test_students_of_two_teachers_are_two_rows_named_by_the_teacher_not_seeds_of_one(tmp_path):
    """The same student model distilled from teacher A (seeds 0, 1) and from teacher B (seed 0): two rows, each named
    by its teacher.checkpoint, where one row of 3 'seeds' mixed them; data.path (this machine's) is no setting."""
    for seed, teacher, acc in ((0, "A.pt", 80.0), (1, "A.pt", 82.0), (0, "B.pt", 90.0)):
        final = {"model": "bilstm + kd", "dev_acc": acc, "params": 4_752_602, "throughput": 900.0}
        fake_run(tmp_path, f"{teacher}-{seed}", "distill", seed, final, [acc], teacher={"checkpoint": teacher})
    text = report.main(["--runs", str(tmp_path), "--out", str(tmp_path / "report")])
    assert "| bilstm + kd (teacher.checkpoint=A.pt) | 2 | 81.00 ± 1.41 |" in text
    assert "| bilstm + kd (teacher.checkpoint=B.pt) | 1 | 90.00 |" in text


def test_a_seed_found_twice_counts_once(tmp_path, capsys):
    """A run repeated (same settings, seed 0 in two folders) is one seed of its row, not two: the first folder found
    is counted and a line names the one left out, as vision's report does."""
    for folder, seed, acc in (("kd-0", 0, 80.0), ("kd-0-again", 0, 99.0), ("kd-1", 1, 82.0)):
        final = {"model": "bilstm + kd", "dev_acc": acc, "params": 4_752_602, "throughput": 900.0}
        fake_run(tmp_path, folder, "distill", seed, final, [acc])
    text = report.main(["--runs", str(tmp_path), "--out", str(tmp_path / "report")])
    assert "| bilstm + kd | 2 | 81.00 ± 1.41 |" in text
    assert (f"report: 'sst2 / bilstm + kd' has seed 0 twice: {tmp_path / 'kd-0'} counted, {tmp_path / 'kd-0-again'} "
            "left out") in capsys.readouterr().out


def test_report_refuses_the_common_flags_it_does_not_read(tmp_path, capsys):
    """report reads run folders, not a config: --resume and --device are refused in one line, not ignored."""
    with pytest.raises(SystemExit) as exit_info:
        main_entry(report.main, ["--runs", str(tmp_path), "--resume", "/nowhere", "--device", "cpu"])
    assert exit_info.value.code != 0 and capsys.readouterr().err.strip() == (
        "error: --device and --resume are not read by this script: drop --device cpu --resume /nowhere; its options "
        "are --runs-dir, --dry-run, --runs, --out")
