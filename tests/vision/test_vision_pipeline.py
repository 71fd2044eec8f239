"""End to end on scikit-learn digits through the scripts: the student learns from the teacher in each
mode (online, offline, guide), --resume continues an interrupted run, a NaN loss stops the run and
keeps the last good checkpoint, and user mistakes are one-line errors with a non-zero exit."""
import json
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from kd.common.engine import DistillationMethod
from kd.common.utils.checkpoint import safe_load
from kd.common.utils.cli import main_entry
from kd.common.utils.errors import CheckpointMismatchError, NonFiniteLossError
from kd.vision.data import build_data, make_loader
from kd.vision.methods import METHODS
from kd.vision.model_registry import MODELS
from kd.vision.teacher_model.airbench import Whitening
from kd.vision.scripts import (compare, distill, evaluate, lr_sweep, method_table, quickstart, report,
                               train_teacher)

CHANCE = 10.0


@pytest.fixture(autouse=True)
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def only_run(runs: Path) -> Path:
    (run,) = [p for p in runs.iterdir() if p.is_dir()]
    return run


@pytest.fixture(scope="module")
def teacher_checkpoint(tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("teacher_runs")
    rows = train_teacher.main(["--config", "digits_cnn_mlp", "--runs-dir", str(runs), "teacher.epochs=4"])
    (row,) = rows.values()
    assert row["acc"] > 90.0
    assert re.fullmatch(r"vision-digits-train_teacher-s0-\d{8}-\d{6}", only_run(runs).name)
    return only_run(runs) / "teacher" / "checkpoints" / "model.pt"


def test_quickstart_end_to_end(tmp_path, capsys):
    """The `make demo` job, shortened: with 10% of the labels, the distilled student (which also learns the
    teacher's soft targets on the unlabelled 90%) beats the student alone by more than the seed spread.
    Fails when the KD term is switched off (the distilled student then learns the same 10% of labels)."""
    rows = quickstart.main(["--runs-dir", str(tmp_path), "teacher.epochs=5", "student.epochs=6"])
    teacher, kd, alone = rows.values()
    assert teacher["acc"] > 90.0
    assert kd["seeds"] == alone["seeds"] == 3
    spread = max(kd["acc_std"], alone["acc_std"])
    assert kd["acc"] - alone["acc"] > max(2.0, 3 * spread), (kd["acc_runs"], alone["acc_runs"])  # 94.4 vs 89.5
    assert kd["agreement"] > alone["agreement"] + 2.0
    assert kd["params"] < teacher["params"] / 5 and kd["flops"] < teacher["flops"] / 50
    run = only_run(tmp_path)
    assert re.fullmatch(r"vision-digits-quickstart-\d{8}-\d{6}", run.name)  # three student seeds: none named
    out = capsys.readouterr().out
    assert f"run folder: {run}" in out
    assert "| student + KD (mlp, kd, online; 10% labelled + the rest unlabelled) |" in out
    plots = ("plots/comparison.png", "plots/test_accuracy.png", "plots/accuracy_vs_cost.png", "plots/reliability.png",
             "plots/confusion_difference.png", "student_alone/plots/accuracy.png")
    for path in ("summary.md", "metrics.json", "config.yaml", "teacher/checkpoints/model.pt", *plots,
                 "student_kd/checkpoints/last.pt", "student_kd-seed2/checkpoints/model.pt",
                 "student_alone-seed1/checkpoints/model.pt"):
        assert (run / path).is_file(), path
    summary = (run / "summary.md").read_text()
    assert "student alone (mlp; 10% labelled)" in summary
    for path in plots:  # the summary embeds every figure, linked relative to the run folder
        assert f"![{Path(path).stem}]({path})" in summary, path
    assert "10 classes: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9" in summary and "10 classes: 0, 1," in out
    assert json.loads((run / "metrics.json").read_text())["final"]["class_names"] == [str(i) for i in range(10)]
    history = json.loads((run / "student_kd" / "metrics.json").read_text())["history"]
    assert [r["epoch"] for r in history] == list(range(1, 7)) and "test_agreement" in history[-1]
    alone_history = json.loads((run / "student_alone" / "metrics.json").read_text())["history"]
    assert len(alone_history) == 46  # 6 epochs x 23 batches of all images = 46 epochs x 3 batches of the labelled 144


@pytest.mark.parametrize("mode,extra", [
    ("online", []),
    ("online", ["train.precision=bf16", "train.channels_last=true"]),  # the CUDA settings, on the CPU
    ("offline", []),
    ("offline", ["method.name=soft_label_ce", "methods.soft_label_ce.hard_weight=0.1"]),
    # the guide teacher's extra epochs on the true labels would undo its shift at the default lr (teacher.lr / 10)
    ("guide", ["distill.rounds=2", "distill.student_epochs_per_round=3", "distill.teacher_epochs_per_round=1",
               "distill.teacher_lr=0.00003", "teacher.batch_size=128"]),
])
def test_distillation_modes_follow_a_teacher_that_contradicts_the_labels(tmp_path, shifted_teacher, mode, extra):
    """Every mode distils the shifted-label teacher (conftest.py) into a student that also sees every true
    label: the student must side with the teacher. Fails when the KD term is switched off."""
    _, checkpoint = shifted_teacher
    rows = distill.main(["--config", "digits_cnn_mlp", "--runs-dir", str(tmp_path), f"distill.mode={mode}",
                         f"teacher.checkpoint={checkpoint}", "student.labelled_fraction=1.0", "student.epochs=6",
                         *extra])
    teacher, student = rows.values()
    assert student["agreement"] > 80.0 and student["acc"] < 25.0, student
    run = only_run(tmp_path)
    assert (run / "student_kd" / "checkpoints" / "model.pt").is_file()
    given = json.loads((run / "metrics.json").read_text())["final"].get("given")  # the report's seed for the teacher
    assert given == (None if mode == "guide" else {"teacher (cnn)": str(checkpoint)})  # guide trains it further
    if mode == "offline":
        (cache,) = (run / "soft_labels").glob("digits-*.pt")
        assert safe_load(cache)["logits"].shape == (1437, 10)
    if mode == "guide":
        guide_teacher = safe_load(run / "guide_teacher" / "checkpoints" / "last.pt")
        assert guide_teacher["epoch"] == 2
        # its extra epochs keep the teacher's own batch size: 2 epochs x ceil(1437 / 128) Adam steps
        assert {int(p["step"]) for p in guide_teacher["optimizer"]["state"].values()} == {2 * 12}
        assert safe_load(run / "student_kd" / "checkpoints" / "last.pt")["epoch"] == 6


def test_resume_after_interruption(tmp_path, teacher_checkpoint, interrupt_epochs):
    args = ["--config", "digits_cnn_mlp", f"teacher.checkpoint={teacher_checkpoint}", "student.epochs=2"]
    distill.main(args + ["--runs-dir", str(tmp_path / "straight")])
    straight = safe_load(only_run(tmp_path / "straight") / "student_kd" / "checkpoints" / "model.pt")["state_dict"]

    resume_epochs = interrupt_epochs(lambda distiller: distiller.epoch == 1)
    with pytest.raises(KeyboardInterrupt):
        distill.main(args + ["--runs-dir", str(tmp_path / "cut")])
    run = only_run(tmp_path / "cut")
    assert re.fullmatch(r"vision-digits-distill-s0-\d{8}-\d{6}", run.name)
    assert safe_load(run / "student_kd" / "checkpoints" / "last.pt")["epoch"] == 1
    resume_epochs()

    distill.main(["--resume", str(run)])
    assert safe_load(run / "student_kd" / "checkpoints" / "last.pt")["epoch"] == 2
    resumed = safe_load(run / "student_kd" / "checkpoints" / "model.pt")["state_dict"]
    for key in straight:
        assert torch.allclose(straight[key], resumed[key], atol=1e-6), key
    history = json.loads((run / "student_kd" / "metrics.json").read_text())["history"]
    assert [r["epoch"] for r in history] == [1, 2]


def test_guide_mode_cut_before_the_students_round_resumes_exactly(tmp_path, teacher_checkpoint, interrupt_epochs):
    """Guide mode cut after the teacher's epoch of round 2, before the student's: the teacher's last.pt is the newer,
    so the resumed student must draw its round-2 dropout masks from that random state, as the uncut run did."""
    args = ["--config", "digits_cnn_mlp", f"teacher.checkpoint={teacher_checkpoint}", "distill.mode=guide",
            "distill.rounds=2", "distill.teacher_epochs_per_round=1", "distill.student_epochs_per_round=1",
            "student.kwargs={hidden: [64], dropout: 0.3}", "student.labelled_fraction=1.0", "data.train_subset=480"]
    distill.main(args + ["--runs-dir", str(tmp_path / "straight")])
    straight = safe_load(only_run(tmp_path / "straight") / "student_kd" / "checkpoints" / "model.pt")["state_dict"]

    resume_epochs = interrupt_epochs(lambda distiller: distiller.run.path.name == "student_kd" and distiller.epoch == 1)
    with pytest.raises(KeyboardInterrupt):
        distill.main(args + ["--runs-dir", str(tmp_path / "cut")])
    run = only_run(tmp_path / "cut")
    assert [safe_load(run / stage / "checkpoints" / "last.pt")["epoch"] for stage in ("guide_teacher", "student_kd")] \
        == [2, 1]
    resume_epochs()

    distill.main(["--resume", str(run)])
    resumed = safe_load(run / "student_kd" / "checkpoints" / "model.pt")["state_dict"]
    for key in straight:
        assert torch.equal(straight[key], resumed[key]), key


def test_a_teacher_with_lookahead_saves_the_average(tmp_path):
    """teacher.lookahead reaches the teacher's Distiller: its last.pt carries the finished average, and the saved
    model is that average (the weights became it after the last step)."""
    train_teacher.main(["--config", "digits_cnn_mlp", "--runs-dir", str(tmp_path), "teacher.epochs=1",
                        "teacher.lookahead.every=3"])
    checkpoints = only_run(tmp_path) / "teacher" / "checkpoints"
    last, model = safe_load(checkpoints / "last.pt"), safe_load(checkpoints / "model.pt")["state_dict"]
    assert last["lookahead"]["finished"]
    for name, ema in last["lookahead"]["ema"].items():
        key = name.split(".", 1)[1]
        assert torch.equal(model[key], ema) and torch.equal(last["student"][key], ema), key


class WhitenedMLP(torch.nn.Module):
    """An MLP behind airbench's whitening layer; ``seen_at_first_step`` records, for each model, how many images its
    ``fit_to_data`` had seen when its first training step began."""

    seen_at_first_step: list[int] = []

    def __init__(self, num_classes: int, in_channels: int = 1, image_size: int = 8):
        super().__init__()
        self.whiten = Whitening(in_channels)
        self.head = torch.nn.Linear(self.whiten.out_channels * (image_size - 1) ** 2, num_classes)
        self.images_fitted = 0

    def fit_to_data(self, batches):
        def counted():
            for images in batches:
                self.images_fitted += len(images)
                yield images
        self.whiten.fit(counted())

    def forward(self, x):
        if self.training and self.images_fitted >= 0:
            WhitenedMLP.seen_at_first_step.append(self.images_fitted)
            self.images_fitted = -1
        return self.head(torch.flatten(torch.nn.functional.gelu(self.whiten(x)), 1))


if "whitened_mlp_test" not in MODELS:
    MODELS.register("whitened_mlp_test")(WhitenedMLP)


def test_data_init_training_set_fits_the_whitening_on_every_training_image_before_training(tmp_path, whitening_gram):
    """teacher.data_init=training_set: a model with ``fit_to_data`` fits its whitening on all the (un-augmented)
    training images before its first step, and keeps that fit: its first batch does not refit it."""
    rows = train_teacher.main(["--config", "digits_cnn_mlp", "--runs-dir", str(tmp_path), "teacher.epochs=2",
                               "teacher.arch=whitened_mlp_test", "teacher.data_init=training_set"])
    (row,) = rows.values()
    assert row["acc"] > 80.0
    digits = build_data({"name": "digits", "batch_size": 64})
    assert WhitenedMLP.seen_at_first_step == [len(digits.splits.train)]
    model = safe_load(only_run(tmp_path) / "teacher" / "checkpoints" / "model.pt")["state_dict"]
    expected = Whitening(1)
    expected.fit([images for images, _ in make_loader(digits.splits.train_plain, 512, shuffle=False)])
    assert torch.allclose(whitening_gram(model["whiten.weight"]), whitening_gram(expected.weight), rtol=1e-3)


class NaNAtStep(DistillationMethod):
    """Cross-entropy that turns NaN at the given optimiser step (a stand-in for a diverging run)."""

    needs_teacher = False

    def __init__(self, teacher=None, student=None, num_classes=0, image_shape=None, nan_at: int = 30):
        super().__init__()
        self.nan_at, self.calls = nan_at, 0

    def forward(self, student, teacher, batch):
        self.calls += 1
        loss = F.cross_entropy(student(batch[0]), batch[1])
        return {"ce": loss * float("nan") if self.calls >= self.nan_at else loss}


if "nan_at_step_test" not in METHODS:
    METHODS.register("nan_at_step_test")(NaNAtStep)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, teacher_checkpoint):
    with pytest.raises(NonFiniteLossError, match="epoch 2, step 30"):  # 23 steps per epoch
        distill.main(["--config", "digits_cnn_mlp", "--runs-dir", str(tmp_path), "method.name=nan_at_step_test",
                      "+methods.nan_at_step_test.nan_at=30", f"teacher.checkpoint={teacher_checkpoint}",
                      "student.epochs=3",
                      "student.labelled_fraction=1.0"])
    last = safe_load(only_run(tmp_path) / "student_kd" / "checkpoints" / "last.pt")
    assert last["epoch"] == 1 and all(torch.isfinite(v).all() for v in last["student"].values())


def run_cli(module, argv, capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main_entry(module.main, argv)
    err = capsys.readouterr().err.strip().splitlines()
    return exit_info.value.code, err[-1] if err else ""


@pytest.mark.parametrize("overrides,expected", [
    (["data.name=imagenet22k"], "error: unknown data set 'imagenet22k'"),
    (["student.arch=vit_giant"], "error: unknown model 'vit_giant'"),
    (["method.name=magic"], "error: unknown method.name 'magic'; the image-classification methods are: at, dkd, "),
    (["method.name=dkdd"], "error: unknown method.name 'dkdd' (did you mean 'dkd'?); the image-classification "
                           "methods are: at, dkd, fitnet, kd, "),
    (["distill.mode=telepathy"], "error: unknown distillation mode 'telepathy'"),
    (["data.name=imagefolder", "data.root=/no/such/folder"], "error: image folder '/no/such/folder' does not exist"),
    (["teacher.checkpoint=/no/such.pt"], "error: checkpoint '/no/such.pt' does not exist"),
    (["student.epoch=3"], "error: unknown config key 'student.epoch'; did you mean 'student.epochs'?"),
    (["student.kwargs={depth: 3}"], "error: model 'mlp' takes no argument 'depth'"),
    (["+methods.kd.beta=3"], "error: image-classification method 'kd' takes no argument 'beta'; known: alpha, "
                             "temperature"),
    (["+methods.dkd.alpah=3"], "error: image-classification method 'dkd' takes no argument 'alpah'; did you mean "
                               "'alpha'?"),  # a section of a method the run does not use is checked too
    (["+methods.kdd.alpha=3"], "error: methods.kdd: no method is called 'kdd' (did you mean 'kd'?); the "
                               "image-classification methods are: "),
    (["methods.kd.temprature=3"], "error: unknown config key 'methods.kd.temprature'; did you mean "
                                  "'methods.kd.temperature'?"),
    (["methods.kd.temperature=abc"], "error: methods.kd.temperature='abc' must be a number"),
    (["methods.dkd.warmup=2.5"], "error: methods.dkd.warmup=2.5 must be a whole number"),  # a section not in use too
    (["method.kwargs={alpha: 1}"], "error: config key 'method.kwargs' was renamed to methods.<name>.<argument>"),
    (["method.name=dkd"], "error: method.name=dkd needs the label of every image it distils on"),
    (["method.name=fitnet", "student.arch=small_cnn", "student.kwargs={}", "methods.fitnet.hint_layer=7"],
     "error: method.name=fitnet cannot be built with student.arch=small_cnn and teacher.arch=cnn: "
     "methods.fitnet.hint_layer=7 is not a stage map of the student, which has 2 (indices 0 to 1)"),
    (["student.labelled_fraction=0"], "error: student.labelled_fraction must be in (0, 1], got 0"),
    (["distill.transfer_set=some"], "error: unknown distill.transfer_set 'some'"),
    (["teacher.lookahead={every: 5, bse: 0.9}"], "error: unknown config key 'teacher.lookahead.bse'; did you mean "
                                                 "'teacher.lookahead.base'?"),
    (["student.lookahead.evry=5"], "error: unknown config key 'student.lookahead.evry'; did you mean "
                                   "'student.lookahead.every'?"),
    (["method.name=simkd", "distill.mode=guide"], "error: method.name=simkd keeps a copy of the teacher's classifier "
                                                   "made before distilling, and guide mode trains the teacher further"),
    (["teacher.data_init=all"], "error: unknown teacher.data_init 'all'; choose one of: first_batch, training_set"),
    (["data.flip=sometimes"], "error: data.flip must be one of random, alternate, not 'sometimes'"),
    (["data.flip=alternate", "data.in_memory=false"], "error: data.flip=alternate is done by the in-memory loader "
                                                      "only, and these images are not in memory: set "
                                                      "data.in_memory=true, or data.flip=random"),
    (["data.crop_padding_mode=mirror"], "error: data.crop_padding_mode must be one of zeros, reflect, not 'mirror'"),
    (["data.crop_padding_mode=reflect"], "error: data.crop_padding_mode='reflect' is not read by data.name=digits"),
    (["data.root=/x"], "error: data.root='/x' is not read by data.name=digits (it takes "
                       "data.image_size, data.test_fraction); drop it, or use data.name=cifar10, cifar100, "
                       "fashion_mnist, imagefolder, imagenet or mnist, which read it"),
    (["data.download=false"], "error: data.download=False is not read by data.name=digits"),
])
def test_user_errors_are_one_line(tmp_path, capsys, overrides, expected):
    code, err = run_cli(distill, ["--config", "digits_cnn_mlp", "--runs-dir", str(tmp_path), *overrides], capsys)
    assert code == 2 and err.startswith(expected), err
    assert not any(tmp_path.iterdir())  # refused before the run folder exists


@pytest.mark.parametrize("module, argv, what", [
    (distill, ["method.name=fitnet", "--dry-run"], "method.name=fitnet"),
    (distill, ["method.name=simkd"], "method.name=simkd"),
    (compare, ["method.name=at"], "method.name=at"),
    (method_table, ["run.methods=[student, fitnet]", "run.seeds=[0]", "student.labelled_fraction=1.0"],
     "run.methods row 'fitnet'"),  # the preset's 0.1 is distill's: every table row trains on every label
])
def test_a_method_the_models_cannot_take_is_refused_before_the_run_folder(module, argv, what, tmp_path, capsys):
    """A feature method on digits_cnn_mlp's MLP student (it has no stage maps) is built on the models with the other
    checks: --dry-run refuses it, and a run refuses it before its folder exists, not after the teacher trained."""
    code, err = run_cli(module, ["--config", "digits_cnn_mlp", "--runs-dir", str(tmp_path), *argv], capsys)
    assert code == 2 and err == (f"error: {what} cannot be built with student.arch=mlp and teacher.arch=cnn: MLP "
                                 "returns no (N, C, H, W) stage maps; feature methods need a convolutional model"), err
    assert not any(tmp_path.iterdir())


def test_compare_refuses_several_seeds_in_guide_mode(tmp_path, capsys):
    code, err = run_cli(compare, ["--config", "digits_cnn_mlp", "--runs-dir", str(tmp_path), "distill.mode=guide"],
                        capsys)
    assert code != 0 and err.startswith("error: guide mode trains the teacher further while distilling"), err
    assert not any(tmp_path.iterdir())  # refused before the run folder exists


@pytest.mark.parametrize("module, argv, expected", [
    (compare, ["compare.seeds=3"], "error: compare.seeds is a list of seeds, one run each, not the count 3; for 3 "
                                   "seeds: compare.seeds=[0, 1, 2]"),
    (compare, ["compare.seeds=[1, 1]"], "error: compare.seeds=[1, 1] names a seed twice: each seed is one run"),
    (method_table, ["run.seeds=[]"], "error: run.seeds is a non-empty list of whole numbers, e.g. [0, 1, 2]; got []"),
    (train_teacher, ["teacher.checkpoint=t.pt"], "error: teacher.checkpoint is the trained teacher that distill and "
                                                 "evaluate read; train_teacher trains one from teacher.arch: drop "
                                                 "teacher.checkpoint"),
    (lr_sweep, ["--lrs", "0.1", "--resume", "runs/x"], "error: lr_sweep cannot --resume; resume an interrupted "
                                                        "value's table with method_table --resume"),
    (evaluate, ["--checkpoint", "S.pt", "--teacher", "T.pt"], "error: --checkpoint was renamed to the config key "
                                                             "evaluate.checkpoint, as in every domain: pass "
                                                             "evaluate.checkpoint=S.pt"),
    (evaluate, ["--teacher", "T.pt"], "error: --teacher was renamed to the config key teacher.checkpoint, as in every "
                                      "domain: pass teacher.checkpoint=T.pt"),
    (evaluate, [], "error: pass evaluate.checkpoint=RUN_DIR/<stage>/checkpoints/model.pt"),
])
def test_inputs_a_script_would_ignore_are_refused(module, argv, expected, tmp_path, capsys):
    code, err = run_cli(module, ["--config", "digits_cnn_mlp", "--runs-dir", str(tmp_path), *argv], capsys)
    assert code != 0 and err.startswith(expected), err
    assert not any(tmp_path.iterdir())  # refused before the run folder exists


def test_checkpoint_mismatch_errors(tmp_path, capsys, teacher_checkpoint):
    code, err = run_cli(distill, ["--config", "digits_cnn_mlp", "--runs-dir", str(tmp_path), "teacher.arch=resnet8",
                                  f"teacher.checkpoint={teacher_checkpoint}"], capsys)
    assert code != 0 and "holds a 'cnn' but 'resnet8' was asked for" in err
    images = tmp_path / "three_classes"
    for c in "abc":
        (images / c).mkdir(parents=True)
        from PIL import Image
        for i in range(2):
            Image.new("RGB", (8, 8), (i * 90, 0, 0)).save(images / c / f"{i}.png")
    with pytest.raises(CheckpointMismatchError, match="trained for 10 classes but the data set has 3"):
        evaluate.main(["--runs-dir", str(tmp_path), f"evaluate.checkpoint={teacher_checkpoint}",
                       "data.name=imagefolder", f"data.root={images}", "data.image_size=8"])


def test_evaluate_script(tmp_path, teacher_checkpoint, capsys):
    rows = evaluate.main(["--runs-dir", str(tmp_path), f"evaluate.checkpoint={teacher_checkpoint}",
                          f"teacher.checkpoint={teacher_checkpoint}"])
    teacher, same = rows.values()
    assert same["agreement"] == 100.0 and same["acc"] > 90.0 and same["flops"] > 0 and same["latency_ms"] > 0
    assert "top-5 %" in capsys.readouterr().out


def test_compare_with_given_teacher(tmp_path, teacher_checkpoint):
    """The given teacher is not retrained; the students train with compare.seeds=[1], not the config's seed 0, and
    metrics.json names their rows so that report gives them seed 1, and the teacher its checkpoint."""
    rows = compare.main(["--config", "digits_cnn_mlp", "--runs-dir", str(tmp_path), "student.arch=small_cnn",
                         "student.kwargs={}", f"teacher.checkpoint={teacher_checkpoint}", "student.epochs=3",
                         "student.labelled_fraction=1.0", "compare.seeds=[1]"])
    assert list(rows) == ["teacher (cnn)", "student + KD (small_cnn, kd, online)", "student alone (small_cnn)"]
    assert not (only_run(tmp_path) / "teacher").exists()  # the given teacher is not retrained
    assert (only_run(tmp_path) / "student_kd-seed1" / "checkpoints" / "model.pt").is_file()
    assert {r["label"]: r["seed"] for r in report.collect_runs([tmp_path])} == {
        "teacher (cnn)": str(teacher_checkpoint), "student + KD (small_cnn, kd, online)": 1,
        "student alone (small_cnn)": 1}


def test_guide_mode_resumes_mid_round(tmp_path, teacher_checkpoint, interrupt_epochs):
    args = ["--config", "digits_cnn_mlp", "--runs-dir", str(tmp_path), "distill.mode=guide", "distill.rounds=2",
            "distill.student_epochs_per_round=3", f"teacher.checkpoint={teacher_checkpoint}"]
    resume_epochs = interrupt_epochs(  # the student's first epoch of round 2
        lambda distiller: distiller.run.path.name == "student_kd" and distiller.epoch == 3)
    with pytest.raises(KeyboardInterrupt):
        distill.main(args)
    run = only_run(tmp_path)
    assert safe_load(run / "guide_teacher" / "checkpoints" / "last.pt")["epoch"] == 2
    assert safe_load(run / "student_kd" / "checkpoints" / "last.pt")["epoch"] == 3
    resume_epochs()
    rows = distill.main(["--resume", str(run)])
    assert safe_load(run / "guide_teacher" / "checkpoints" / "last.pt")["epoch"] == 2  # not trained again
    assert safe_load(run / "student_kd" / "checkpoints" / "last.pt")["epoch"] == 6
    assert list(rows.values())[1]["agreement"] > 80.0


def test_guide_mode_lookahead_averages_once_over_all_rounds_and_resumes(tmp_path, teacher_checkpoint, interrupt_epochs):
    """teacher.lookahead and student.lookahead in guide mode. The teacher is frozen between rounds (to relabel), yet
    its average must keep every one of its weights; neither average is finished after round 1 (the weights become
    the average once, after the last round); both saved models are their averages; and a run cut after round 1
    resumes to the weights of an uninterrupted run. Fails when either lookahead is not applied (no average in
    last.pt), is finished per round, or loses the teacher's weights while it is frozen."""
    args = ["--config", "digits_cnn_mlp", f"teacher.checkpoint={teacher_checkpoint}", "distill.mode=guide",
            "distill.rounds=2", "distill.teacher_epochs_per_round=1", "distill.student_epochs_per_round=1",
            "data.train_subset=480", "teacher.lookahead.every=3", "student.lookahead.every=3"]  # 8 steps an epoch
    distill.main(args + ["--runs-dir", str(tmp_path / "straight")])
    straight = only_run(tmp_path / "straight")
    for stage in ("guide_teacher", "student_kd"):
        checkpoints = straight / stage / "checkpoints"
        last, model = safe_load(checkpoints / "last.pt"), safe_load(checkpoints / "model.pt")["state_dict"]
        assert last["epoch"] == 2 and last["lookahead"]["finished"], stage
        ema = {name.split(".", 1)[1]: value for name, value in last["lookahead"]["ema"].items()
               if name.startswith("0.")}  # "0.": the model's own tensors ("1.": the method's)
        assert set(ema) == {k for k, v in model.items() if torch.is_floating_point(v)}, stage  # every weight kept
        for key, value in ema.items():
            assert torch.equal(model[key], value) and torch.equal(last["student"][key], value), (stage, key)

    resume_epochs = interrupt_epochs(  # round 2 starts
        lambda distiller: distiller.run.path.name == "guide_teacher" and distiller.epoch == 1)
    with pytest.raises(KeyboardInterrupt):
        distill.main(args + ["--runs-dir", str(tmp_path / "cut")])
    run = only_run(tmp_path / "cut")
    for stage in ("guide_teacher", "student_kd"):
        last = safe_load(run / stage / "checkpoints" / "last.pt")
        assert last["epoch"] == 1 and not last["lookahead"]["finished"], stage  # not finished per round
        assert any(not torch.equal(value, last["student"][name.split(".", 1)[1]])  # the average is not the weights
                   for name, value in last["lookahead"]["ema"].items() if name.startswith("0.")), stage
    resume_epochs()
    distill.main(["--resume", str(run)])
    for stage in ("guide_teacher", "student_kd"):
        expected = safe_load(straight / stage / "checkpoints" / "model.pt")["state_dict"]
        resumed = safe_load(run / stage / "checkpoints" / "model.pt")["state_dict"]
        for key in expected:
            assert torch.allclose(expected[key], resumed[key], atol=1e-6), (stage, key)


def test_simkd_through_distill_is_evaluated_with_the_teachers_classifier(tmp_path, teacher_checkpoint):
    """SimKD's student never trains its own head: the script must report student + projector + teacher classifier."""
    rows = distill.main(["--config", "digits_cnn_mlp", "--runs-dir", str(tmp_path),
                         f"teacher.checkpoint={teacher_checkpoint}",
                         "student.arch=small_cnn", "student.kwargs={}", "student.epochs=4", "method.name=simkd"])
    teacher, student = rows.values()
    assert student["acc"] > CHANCE + 50 and student["agreement"] > 60.0
