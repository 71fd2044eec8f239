"""method_table, report and lr_sweep end to end on a tiny ImageFolder the test writes; specialists on digits."""
import json
import re

import numpy as np
import pytest
import torch
from PIL import Image

from kd.common.utils.checkpoint import safe_load
from kd.common.utils.cli import main_entry
from kd.common.utils.errors import CheckpointMismatchError, ConfigError, KDError
from kd.vision.checkpoints import load_vision_model
from kd.vision.scripts import lr_sweep, method_table, report

TINY = ["--config", "cifar10_resnet32x4_resnet8x4", "data.num_workers=0", "data.batch_size=8",
        "data.eval_batch_size=16", "data.image_size=8",
        "teacher.arch=cnn", "teacher.kwargs={channels: [8, 16]}", "teacher.epochs=1", "teacher.schedule=constant",
        "student.arch=small_cnn", "student.epochs=2", "student.schedule=constant", "student.optimizer=adam",
        "student.lr=0.01", "teacher.optimizer=adam", "teacher.lr=0.01", "threads=1"]


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_folder")
    rng = np.random.default_rng(0)
    for split, n in (("train", 16), ("test", 8)):
        for c, colour in enumerate([(220, 30, 30), (30, 30, 220)]):
            (root / split / f"class{c}").mkdir(parents=True)
            for i in range(n):
                pixels = np.clip(np.array(colour) + rng.normal(0, 30, (8, 8, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(root / split / f"class{c}" / f"{i}.png")
    return root


def test_method_table_then_report(image_folder, tmp_path, capsys):
    root = method_table.main(["--runs-dir", str(tmp_path), *TINY, f"data.root={image_folder}",
                              "run.methods=[student, simkd]", "run.seeds=[0, 1]", "data.train_subset=24",
                              "data.augment=false", "run.memo_teacher=true"])
    assert re.fullmatch(r"vision-imagefolder-method_table-\d{8}-\d{6}", root.name)  # two seeds: none in the name
    finals = [json.loads(p.read_text())["final"] for p in sorted(root.glob("*/metrics.json"))]
    assert sorted(f["label"] for f in finals) == ["simkd", "simkd", "student", "student", "teacher"]
    assert all(f["train_images"] == 24 for f in finals)
    simkd = next(f for f in finals if f["label"] == "simkd")
    student = next(f for f in finals if f["label"] == "student")
    assert simkd["params"] > student["params"]          # the deployed SimKD student carries its projector
    load_vision_model(root / "student-seed0" / "checkpoints" / "model.pt")
    with pytest.raises(CheckpointMismatchError, match="the backbone of a SimKDStudent .* never trained"):
        load_vision_model(root / "simkd-seed0" / "checkpoints" / "model.pt")  # its own classifier: random
    assert (root / "teacher-seed0" / "plots" / "loss.png").is_file()
    summary = (root / "summary.md").read_text()
    assert summary.index("| teacher") < summary.index("| student") < summary.index("| simkd")
    assert "![accuracy_by_run](plots/accuracy_by_run.png)" in summary
    assert (root / "plots" / "accuracy_by_run.png").is_file()
    out = tmp_path / "report"
    report.main(["--runs", str(root), "--out", str(out)])
    assert "| simkd | simkd | small_cnn |" in (out / "report.md").read_text()
    for plot in ("accuracy_by_run", "accuracy_vs_params", "training_loss"):
        assert (out / "plots" / f"{plot}.png").is_file()
        assert f"![{plot}](plots/{plot}.png)" in (out / "summary.md").read_text()


def write_row(folder, label, seed, accuracy, lr=0.05, **config):
    """A run folder as a method_table row leaves it: config.yaml and metrics.json with its final record."""
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(json.dumps({"seed": seed, "student": {"lr": lr}, "data": {"root": str(folder)},
                                                    **config}))
    (folder / "metrics.json").write_text(json.dumps({"history": [], "final": {
        "label": label, "method": "kd", "arch": "resnet8", "seed": seed, "test_acc": accuracy}}))


def test_report_keeps_rows_of_other_settings_apart_and_counts_a_seed_once(tmp_path, capsys):
    """Two tables' kd rows at lr 0.05 merge over seeds (their data.root differs: a path, not a setting); a third
    table's at lr 0.5 is a row of its own, named by what differs; a seed found twice counts once; a distill run's
    models are rows too, a compare row over several seeds (already a mean) is left out."""
    write_row(tmp_path / "a" / "kd-seed0", "kd", 0, 70.0)
    write_row(tmp_path / "b" / "kd-seed1", "kd", 1, 72.0)
    write_row(tmp_path / "b" / "kd-seed0-again", "kd", 0, 99.0)
    write_row(tmp_path / "c" / "kd-seed0", "kd", 0, 50.0, lr=0.5)
    distill = tmp_path / "d" / "vision-digits-distill-s2"
    write_row(distill, "unused", 2, 0.0)
    (distill / "metrics.json").write_text(json.dumps({"history": [], "final": {"rows": {
        "student + kd (mlp, online)": {"acc": 80.0, "params": 9610, "seeds": 1},
        "student alone (mlp)": {"acc": 75.0, "params": 9610, "seeds": 3}}}}))
    groups = report.group_runs(report.collect_runs([tmp_path]))
    assert {label: [r["accuracy"] for r in runs] for label, runs in groups.items()} == {
        "kd (student.lr=0.05)": [70.0, 72.0], "kd (student.lr=0.5)": [50.0], "student + kd (mlp, online)": [80.0]}
    out = capsys.readouterr().out
    assert "'kd (student.lr=0.05)' has seed 0 twice" in out and "kd-seed0-again left out" in out
    assert "left out 'student alone (mlp)'" in out and "already a mean over 3 seeds" in out
    table = report.runs_table(groups)
    assert "| kd (student.lr=0.05) | kd | resnet8 |  | 2 | 71.00 +- 1.41 |" in table
    assert "| kd (student.lr=0.5) | kd | resnet8 |  | 1 | 50.00 |" in table  # one seed: no "+- 0.00"


def test_report_takes_a_compare_students_seed_from_compare_seeds(tmp_path, capsys):
    """Two compare runs of one config (seed 0) with compare.seeds=[1] and [2]: their students are two seeds of each
    row, not one seed 0 found twice; the teacher, trained with the config's seed 0 in both, is one."""
    teacher, kd, alone = "teacher (cnn)", "student + KD (mlp, kd, online)", "student alone (mlp)"
    for seed, acc in ((1, 80.0), (2, 82.0)):
        run = tmp_path / f"vision-digits-compare-s{seed}"
        write_row(run, "unused", 0, 0.0)
        (run / "metrics.json").write_text(json.dumps({"history": [], "final": {
            "seeds": [seed], "students": [kd, alone], "rows": {teacher: {"acc": 97.0, "seeds": 1},
                                                               kd: {"acc": acc, "seeds": 1},
                                                               alone: {"acc": acc - 5, "seeds": 1}}}}))
    groups = report.group_runs(report.collect_runs([tmp_path]))
    assert {label: [r["seed"] for r in runs] for label, runs in groups.items()} == {
        teacher: [0], kd: [1, 2], alone: [1, 2]}
    assert "'teacher (cnn)' has seed 0 twice" in capsys.readouterr().out


def test_report_counts_a_given_teacher_once(tmp_path, capsys):
    """Two distill runs of seeds 0 and 1 that read one teacher.checkpoint (``final.given``): their students are two
    seeds, the teacher one model, not two seeds of the same figure."""
    teacher, student = "teacher (cnn)", "student + kd (mlp, online)"
    for seed, acc in ((0, 80.0), (1, 82.0)):
        run = tmp_path / f"vision-digits-distill-s{seed}"
        write_row(run, "unused", seed, 0.0, teacher={"checkpoint": "runs/t/model.pt"})
        (run / "metrics.json").write_text(json.dumps({"history": [], "final": {
            "given": {teacher: "runs/t/model.pt"}, "rows": {teacher: {"acc": 97.0, "seeds": 1},
                                                            student: {"acc": acc, "seeds": 1}}}}))
    groups = report.group_runs(report.collect_runs([tmp_path]))
    assert {label: [r["seed"] for r in runs] for label, runs in groups.items()} == {
        teacher: ["runs/t/model.pt"], student: [0, 1]}
    assert "'teacher (cnn)' has seed runs/t/model.pt twice" in capsys.readouterr().out


def test_model_metrics_table_gives_a_mean_over_seeds_as_mean_and_sample_std():
    """A model over two seeds prints ``mean ± sample std`` (92 and 90: 91.00 ± 1.41), one seed its value alone; a
    metric a row lacks is "-"."""
    from kd.vision.report import mean_over_seeds, model_metrics_table

    rows = {"student": {**mean_over_seeds([{"acc": 92.0, "ece": 3.0}, {"acc": 90.0, "ece": 5.0}]), "params": 9610},
            "teacher": {**mean_over_seeds([{"acc": 97.5}]), "params": 120000}}
    assert rows["student"]["acc_std"] == pytest.approx(2 ** 0.5) and rows["student"]["seeds"] == 2
    assert model_metrics_table(rows).splitlines()[2:] == ["| student | 91.00 ± 1.41 | 4.00 ± 1.41 | 9,610 |",
                                                          "| teacher | 97.50 | - | 120,000 |"]


def test_report_refuses_the_common_flags_it_does_not_read(tmp_path, capsys):
    """report reads run folders, not a config: --config, --seed and overrides are refused in one line, not ignored."""
    with pytest.raises(SystemExit) as exit_info:
        main_entry(report.main, ["--runs", str(tmp_path), "--config", "no_such_preset", "student.lrr=1", "--seed", "3",
                                 "--dry-run"])
    assert exit_info.value.code != 0 and capsys.readouterr().err.strip() == (
        "error: --config, --seed and key=value overrides are not read by this script: drop --config no_such_preset "
        "--seed 3 student.lrr=1; its options are --runs-dir, --dry-run, --runs, --out")


def test_memo_teacher_needs_unaugmented_data(image_folder, tmp_path):
    with pytest.raises(ConfigError, match="augment"):
        method_table.main(["--runs-dir", str(tmp_path), *TINY, f"data.root={image_folder}", "run.methods=[kd]",
                           "run.memo_teacher=true", "run.seeds=[0]"])


def test_views_without_the_images_in_memory_are_refused_before_the_table_folder(image_folder, tmp_path):
    with pytest.raises(ConfigError, match=r"^run.views labels augmented views of images held in memory"):
        method_table.main(["--runs-dir", str(tmp_path), *TINY, f"data.root={image_folder}", "run.methods=[kd]",
                           "run.views=2", "data.in_memory=false", "run.seeds=[0]"])
    assert not any(tmp_path.iterdir())


def test_lr_sweep_trains_the_teacher_once(image_folder, tmp_path):
    lr_sweep.main(["--lrs", "0.001", "0.01", "--runs-dir", str(tmp_path), *TINY, f"data.root={image_folder}",
                   "run.methods=[kd]", "run.seeds=[0]"])
    (sweep,) = tmp_path.iterdir()
    assert re.fullmatch(r"vision-imagefolder-lr_sweep-s0-\d{8}-\d{6}", sweep.name)
    tables = sorted(sweep.glob("lr*/vision-imagefolder-method_table-s0-*"))  # a folder per learning rate
    assert [p.parent.name for p in tables] == ["lr0.001", "lr0.01"]
    assert len(list(sweep.glob("*/*/teacher-seed0"))) == 1
    table = (sweep / "lr_sweep.md").read_text()
    for lr in ("0.001", "0.01"):  # one seed: its accuracy alone, no "+- 0.00"
        assert re.search(rf"\| kd \| {lr} \| 1 \| \d+\.\d\d \|", table), lr
    assert (sweep / "plots" / "accuracy_vs_lr.png").is_file() and "![accuracy_vs_lr](plots/accuracy_vs_lr.png)" in table


@pytest.mark.parametrize("extra", [[], ["--dry-run"]])
def test_lr_sweep_checks_before_its_folder_exists(image_folder, tmp_path, extra):
    with pytest.raises(KDError, match=r"^checkpoint '/no/such.pt' does not exist"):
        lr_sweep.main(["--lrs", "0.01", "0.1", "--runs-dir", str(tmp_path), *TINY, f"data.root={image_folder}",
                       "run.methods=[kd]", "run.seeds=[0]", "teacher.checkpoint=/no/such.pt", *extra])
    assert not any(tmp_path.iterdir())


def test_specialists_end_to_end_on_digits_and_teacher_checkpoint_reuses_the_generalist(tmp_path):
    """The generalist is the teacher section and the script's own keys its specialists: section: a run trains the
    generalist in generalist/, and ``teacher.checkpoint`` (as in every vision script) reuses it in the next."""
    from kd.vision.scripts import specialists

    result = specialists.main(["--config", "specialists_digits", "--runs-dir", str(tmp_path / "first"),
                               "teacher.epochs=3", "student.epochs=1", "specialists.n_groups=2",
                               "specialists.top_n=1"])
    assert len(result["groups"]) == 2 and sorted(c for g in result["groups"] for c in g) == list(range(10))
    assert result["generalist_acc"] > 30 and result["combined_acc"] > 30          # chance is 10%
    (run,) = (tmp_path / "first").iterdir()
    assert re.fullmatch(r"vision-digits-specialists-s0-\d{8}-\d{6}", run.name)
    assert (run / "specialist_1" / "plots" / "loss.png").is_file() and (run / "summary.md").is_file()
    for m, group in enumerate(result["groups"]):  # each specialist's weights, as every vision stage writes them
        load_vision_model(run / f"specialist_{m}" / "checkpoints" / "model.pt", arch="small_cnn",
                          num_classes=len(group) + 1)
    summary = (run / "summary.md").read_text()
    assert "![loss](specialist_1/plots/loss.png)" in summary and "2 specialists (top_n=1)" in summary

    reused = specialists.main(["--config", "specialists_digits", "--runs-dir", str(tmp_path / "second"),
                               f"teacher.checkpoint={run / 'generalist' / 'checkpoints' / 'model.pt'}",
                               "student.epochs=1", "specialists.groups=[[3, 5], [0, 8]]", "specialists.enrich=null"])
    (second,) = (tmp_path / "second").iterdir()
    assert not (second / "generalist").exists() and (second / "specialist_1").is_dir()
    assert reused["generalist_acc"] == result["generalist_acc"] and reused["groups"] == [[3, 5], [0, 8]]


def test_the_enrichment_correction_takes_the_groups_share_of_the_training_images(tmp_path, monkeypatch):
    """Hinton et al.'s prior correction (sec. 5.2) undoes the shift from the training data's share of the group to
    the enriched draws' share; the test labels, which a combined prediction must not see, give neither."""
    from kd.vision.scripts import specialists

    seen, corrected = {}, []
    labels = specialists.dataset_labels
    monkeypatch.setattr(specialists, "dataset_labels", lambda data: seen.setdefault("train", labels(data)))
    correct = specialists.correct_for_enrichment
    monkeypatch.setattr(specialists, "correct_for_enrichment",
                        lambda logits, share, sampled: corrected.append(share) or correct(logits, share, sampled))
    specialists.main(["--config", "specialists_digits", "--runs-dir", str(tmp_path), "teacher.epochs=1",
                      "student.epochs=1", "specialists.groups=[[3, 5], [0, 8]]", "specialists.enrich=0.5"])
    shares = [torch.isin(seen["train"], torch.tensor(group)).float().mean().item() for group in ([3, 5], [0, 8])]
    assert corrected == pytest.approx(shares)


def test_specialists_resume_after_the_generalist(tmp_path, monkeypatch):
    """An interrupted specialists run continues with --resume like the other vision scripts: the finished
    generalist is kept (not trained again), the specialists train, and the result is the uninterrupted run's."""
    from kd.vision.scripts import specialists

    args = ["--config", "specialists_digits", "teacher.epochs=2", "student.epochs=1", "specialists.n_groups=2"]
    straight = specialists.main([*args, "--runs-dir", str(tmp_path / "straight")])

    def interrupted(*_args, **_kwargs):  # Ctrl-C as the first specialist starts
        raise KeyboardInterrupt

    original = specialists.train_specialist
    monkeypatch.setattr(specialists, "train_specialist", interrupted)
    with pytest.raises(KeyboardInterrupt):
        specialists.main([*args, "--runs-dir", str(tmp_path / "cut")])
    (run,) = (tmp_path / "cut").iterdir()
    generalist_state = run / "generalist" / "checkpoints" / "last.pt"
    assert safe_load(generalist_state)["epoch"] == 2 and not (run / "specialist_0").exists()
    written = generalist_state.stat().st_mtime_ns
    monkeypatch.setattr(specialists, "train_specialist", original)
    with pytest.raises(ConfigError, match=r"^--resume cannot change specialists.n_groups \(2 -> 3\): the run's "
                                          r"checkpoints were made with the saved value; drop that override, or start "
                                          r"a new run$"):
        specialists.main(["--resume", str(run), "specialists.n_groups=3"])

    resumed = specialists.main(["--resume", str(run)])
    assert generalist_state.stat().st_mtime_ns == written                  # the generalist was not trained again
    assert [p.name for p in (tmp_path / "cut").iterdir()] == [run.name]    # the same run folder, no new one
    assert resumed == straight
    history = json.loads((run / "generalist" / "metrics.json").read_text())["history"]
    assert [r["epoch"] for r in history] == [1, 2]
    assert json.loads((run / "metrics.json").read_text())["final"]["combined_acc"] == straight["combined_acc"]



def test_method_table_on_the_fast_path_learns(image_folder, tmp_path, torch_compile_works):
    """Device-resident data, bf16 autocast, channels_last and torch.compile (the GPU settings) run on the CPU
    too: the table's students still learn the two colour classes."""
    root = method_table.main(["--runs-dir", str(tmp_path), *TINY, f"data.root={image_folder}", "run.methods=[kd]",
                              "run.seeds=[0]", "data.in_memory=true", "train.precision=bf16",
                              "train.channels_last=true", "train.compile=true", "student.epochs=3"])
    finals = {f["label"]: f for f in (json.loads(p.read_text())["final"] for p in root.glob("*/metrics.json"))}
    assert finals["kd"]["train_images"] == 32 and finals["kd"]["test_images"] == 16
    assert finals["teacher"]["test_acc"] >= 90 and finals["kd"]["test_acc"] >= 90       # chance is 50 %


def test_method_table_views_cache_and_resume(image_folder, tmp_path, interrupt_epochs):
    """run.views labels the views once for the whole table and logit-only methods train from them without a
    teacher; an interrupted table continues with --resume: finished runs kept, the cut one from its last.pt."""
    args = ["--runs-dir", str(tmp_path), *TINY, f"data.root={image_folder}", "run.methods=[kd, fitnet]",
            "run.seeds=[0, 1]", "run.views=2", "student.epochs=2"]
    seen_teachers = {}

    def cut_after_recording(distiller) -> bool:  # records whether each run was given a teacher
        seen_teachers[distiller.run.path.name] = distiller.teacher is not None
        return distiller.run.path.name == "fitnet-seed1" and distiller.epoch == 1

    resume_epochs = interrupt_epochs(cut_after_recording)
    with pytest.raises(KeyboardInterrupt):
        method_table.main(args)
    (root,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert seen_teachers == {"teacher-seed0": False, "kd-seed0": False, "fitnet-seed0": True, "kd-seed1": False,
                             "fitnet-seed1": True}   # kd reads the cached views, FitNet needs the teacher's features
    (cache,) = (root / "soft_labels").glob("*-views2.pt")
    kept = (root / "kd-seed1" / "metrics.json").stat().st_mtime_ns
    resume_epochs()
    method_table.main(["--resume", str(root)])
    assert (root / "kd-seed1" / "metrics.json").stat().st_mtime_ns == kept        # finished: not run again
    history = json.loads((root / "fitnet-seed1" / "metrics.json").read_text())["history"]
    assert [r["epoch"] for r in history] == [1, 2]                                  # continued after epoch 1
    assert "| fitnet |" in (root / "summary.md").read_text()
