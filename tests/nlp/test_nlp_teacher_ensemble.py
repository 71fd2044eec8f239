"""An ensemble teacher (``teacher.checkpoint=[A.pt,B.pt]``): the mean of its members' logits, by hand; its cache
file named by the set of its members; offline distillation from two tiny BERT teachers of the ``workspace`` fixture
(tests/nlp/conftest.py), whose cached soft targets are the mean of the two teachers' logits and whose student
learns them against flipped labels; evaluate scoring the ensemble; and the runs it cannot serve, and checkpoint keys
that are no path (or a list where the task reads one), refused in one line before any run folder."""
import pytest
import torch
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

from kd.common.utils.cli import main_entry
from kd.common.utils.errors import CheckpointMismatchError
from kd.nlp.model_zoo import load_nlp_model
from kd.nlp.scripts import distill, evaluate, train_teacher
from kd.nlp.tasks.teacher_cache import teacher_fingerprint
from kd.nlp.teacher_model import LogitEnsemble

CONFIG = "NLP/configs/sst2.yaml"
SMALL_BERT = ("student.num_layers=1", "student.hidden_size=16", "student.num_heads=2")


class FixedLogits(nn.Module):
    def __init__(self, logits):
        super().__init__()
        self.logits = torch.tensor(logits)

    def forward(self, **inputs):
        return SequenceClassifierOutput(logits=self.logits.expand(len(inputs["input_ids"]), -1))


def test_the_ensemble_answers_the_mean_of_its_members_logits():
    ensemble = LogitEnsemble([FixedLogits([1.0, -2.0, 0.0]), FixedLogits([3.0, 0.0, -3.0])])
    logits = ensemble(input_ids=torch.zeros(2, 4, dtype=torch.long)).logits
    torch.testing.assert_close(logits, torch.tensor([[2.0, -1.0, -1.5]] * 2))
    with pytest.raises(ValueError, match="two or more members"):
        LogitEnsemble([FixedLogits([0.0])])


def test_an_ensembles_cache_name_is_the_set_of_its_members(tmp_path):
    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    a.write_bytes(b"teacher a")
    b.write_bytes(b"teacher b")
    one = teacher_fingerprint({"checkpoint": str(a)})
    both = teacher_fingerprint({"checkpoint": [str(a), str(b)]})
    assert teacher_fingerprint({"checkpoint": [str(a)]}) == one  # a list of one is that teacher
    assert both == teacher_fingerprint({"checkpoint": [str(b), str(a)]})  # the mean does not depend on the order
    assert both not in (one, teacher_fingerprint({"checkpoint": str(b)})) and len(both) == 16


def test_a_teacher_named_by_its_save_pretrained_folder_is_named_by_the_folders_content(tmp_path):
    """teacher.name may be a folder as well as a hub id: fine-tuned again in place, its cached outputs are stale."""
    folder = tmp_path / "my-teacher"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights 1")
    first = teacher_fingerprint({"name": str(folder), "checkpoint": None})
    (folder / "model.safetensors").write_bytes(b"weights 2")
    assert teacher_fingerprint({"name": str(folder), "checkpoint": None}) != first
    assert teacher_fingerprint({"name": "gpt2", "checkpoint": None}) == teacher_fingerprint({"name": "gpt2"})


@pytest.fixture(scope="module")
def second_teacher(workspace):
    """Another tiny BERT teacher of the same task: seed 1 and a shorter, gentler schedule than the workspace
    teacher's, so the two differ in their logits."""
    root = workspace["root"]
    train_teacher.main(["--config", CONFIG, "--runs-dir", str(root / "runs_seed1"), *workspace["data"],
                        "teacher.epochs=3", "teacher.lr=1e-3", "teacher.batch_size=32", "seed=1"])
    (run,) = (root / "runs_seed1").iterdir()
    return run / "checkpoints" / "model.pt"


def logits_of(checkpoint, texts):
    model, tokenizers, _ = load_nlp_model(str(checkpoint))
    with torch.no_grad():
        return model.eval()(**tokenizers["main"](texts, padding=True, return_tensors="pt")).logits


def test_a_student_distils_the_mean_of_two_teachers(workspace, second_teacher, tmp_path, capsys):
    """Offline KD from ``[teacher, second teacher]`` on flipped labels: the cached soft targets are the mean of the
    two teachers' logits (not either teacher's), and the student follows them, not the labels."""
    root, cache = workspace["root"], tmp_path / "cache"
    members = f"teacher.checkpoint=[{workspace['teacher']},{second_teacher}]"
    flipped = [o.replace(f"{root}/", f"{root}/flipped_") if o.startswith("data.train_file=") else o
               for o in workspace["data"]]
    final = distill.main(["--config", CONFIG, "--runs-dir", str(tmp_path / "runs"), *flipped, members, *SMALL_BERT,
                          "student.epochs=6", "student.lr=3e-3", "method.name=kd", "methods.kd.alpha=0.9",
                          f"distill.cache_dir={cache}"])
    assert "the mean of the logits of 2 fine-tuned classifiers" in capsys.readouterr().out
    assert final["dev_acc"] > 85 and final["agreement"] > 85  # the teachers overrule the flipped labels
    [cached] = cache.glob("*.pt")
    texts = [line.split("\t")[0] for line in (root / "train.tsv").read_text().splitlines()[1:9]]
    first, second = logits_of(workspace["teacher"], texts), logits_of(second_teacher, texts)
    assert (first - second).abs().min() > 1.0  # two different teachers, so the mean is neither
    torch.testing.assert_close(torch.load(cached, weights_only=True)[:8], (first + second) / 2, atol=0.05, rtol=0.02)

    scored = evaluate.main(["--config", CONFIG, "--runs-dir", str(tmp_path / "runs"), *workspace["data"],
                            f"evaluate.checkpoint=[{workspace['teacher']},{second_teacher}]"])
    assert scored["dev_acc"] > 90 and scored["model"] == f"{workspace['teacher']} + {second_teacher}"


@pytest.mark.parametrize("overrides, message", [
    (["method.name=tinybert", "distill.mode=online"],
     "teacher.checkpoint lists 2 teachers, whose ensemble gives only the mean of their logits, and "
     "method.name=tinybert reads the teacher's hidden states and attentions: pass one checkpoint, or a method that reads logits (kd, "
     "logit_mse)"),
    (["student.init=teacher"],
     "teacher.checkpoint lists 2 teachers, and student.init=teacher copies the layers of one: pass one checkpoint, or "
     "student.init=random"),
])
def test_what_an_ensemble_cannot_serve_is_one_line(overrides, message, sst2_refusal):
    assert sst2_refusal(distill, ["teacher.checkpoint=[a.pt,b.pt]", *overrides]) == f"error: {message}"


def test_a_checkpoint_key_that_is_no_path_is_one_line(sst2_refusal, tmp_path, capsys):
    assert sst2_refusal(distill, ["teacher.checkpoint=5"]) == ("error: teacher.checkpoint=5: pass the path of a "
                                                               "checkpoint (RUN_DIR/checkpoints/model.pt), or a list "
                                                               "of them, [A.pt,B.pt]")
    assert sst2_refusal(evaluate, ["evaluate.checkpoint=[]"]).startswith("error: evaluate.checkpoint=[]: pass the path")
    with pytest.raises(SystemExit) as exit_info:  # translation reads one teacher
        main_entry(distill.main, ["--config", "multi30k", "--runs-dir", str(tmp_path / "runs"),
                                  "teacher.checkpoint=[a.pt,b.pt]"])
    assert exit_info.value.code == 2 and not (tmp_path / "runs").exists()
    assert capsys.readouterr().err.strip() == (
        "error: teacher.checkpoint lists 2 checkpoints, and an ensemble teacher (the mean of their logits) is text "
        "classification's; task translation reads one: pass one path")


def test_members_with_different_heads_are_refused(workspace, tmp_path):
    root = workspace["root"]
    train_teacher.main(["--config", CONFIG, "--runs-dir", str(tmp_path / "mean"), *workspace["data"],
                        "teacher.epochs=1", "teacher.pooling=mean"])
    (run,) = (tmp_path / "mean").iterdir()
    mean_head = run / "checkpoints" / "model.pt"
    with pytest.raises(CheckpointMismatchError, match="the members of an ensemble teacher share both"):
        distill.main(["--config", CONFIG, "--runs-dir", str(root / "runs_heads"), *workspace["data"], *SMALL_BERT,
                      f"teacher.checkpoint=[{workspace['teacher']},{mean_head}]"])
