"""The text-classification methods by name (kd.nlp.methods.CLASSIFICATION_METHODS): what each declares it needs,
default.yaml listing every method's arguments at their defaults, each method's own config section (a near
miss named, switching method.name never handing one method's settings to another), offline methods running no
teacher forward,
and the old ``distill.weights`` refused with the keys that replace it. No data and no training: the methods'
behaviour tests (each term must teach) are in test_nlp_classification_e2e.py."""
import argparse
import math

import pytest
import torch
import torch.nn.functional as F
from transformers.modeling_outputs import SequenceClassifierOutput

from kd.common.utils.config import save_yaml
from kd.common.utils.errors import ConfigError, KDError
from kd.common.utils.registry import keyword_parameters
from kd.nlp.methods import CLASSIFICATION_METHODS
from kd.nlp.scripts.launch import load_nlp_config, run_stage, task_defaults
from kd.nlp.student_model import BiLSTMClassifier, build_small_bert
from kd.nlp.tasks.classification import method_settings

# name -> (what it reads from the teacher, works offline from cached logits, needs the teacher's tokenizer)
DECLARED = {
    "supervised": ((), True, False),
    "kd": (("logits",), True, False),
    "logit_mse": (("logits",), True, False),
    "tinybert": (("logits", "hidden_states", "attentions"), False, True),
    "distilbert": (("logits", "hidden_states"), False, True),
}


def config(*overrides, preset="sst2"):
    return load_nlp_config(argparse.Namespace(config=preset, overrides=list(overrides), seed=None, resume=None))


def bert(hidden=16, heads=2, layers=1, labels=2):
    return build_small_bert(labels, vocab_size=30, num_layers=layers, hidden_size=hidden, num_heads=heads,
                            max_position_embeddings=16)


def batch_of(n=3, length=5, labels=2, teacher_logits=None):
    g = torch.Generator().manual_seed(0)
    inputs = {"input_ids": torch.randint(5, 30, (n, length), generator=g),
              "attention_mask": torch.ones(n, length, dtype=torch.long)}
    batch = {"inputs": {"student": inputs, "teacher": inputs}, "labels": torch.arange(n) % labels}
    if teacher_logits is not None:
        batch["teacher_logits"] = teacher_logits
    return batch


def test_each_method_declares_what_it_needs_from_the_teacher():
    assert CLASSIFICATION_METHODS.names() == sorted(DECLARED)
    for name, (outputs, offline, same_tokenizer) in DECLARED.items():
        cls = CLASSIFICATION_METHODS.get(name)
        assert (cls.teacher_outputs, cls.works_offline, cls.needs_same_tokenizer) == (outputs, offline, same_tokenizer)
        assert cls.needs_teacher == bool(outputs), name
        assert cls.__doc__ or __import__(cls.__module__, fromlist=["_"]).__doc__  # formula and paper


@pytest.mark.parametrize("preset", ["sst2", "trec"])
def test_the_defaults_list_every_method_with_its_constructor_defaults(preset):
    defaults = task_defaults("classification")
    cfg = config(preset=preset)
    assert cfg["methods"] == defaults["methods"] and cfg["method"]["name"] == "kd" and "weights" not in cfg["distill"]
    assert sorted(cfg["methods"]) == CLASSIFICATION_METHODS.names()
    for name in CLASSIFICATION_METHODS.names():
        parameters = {k: p.default for k, p in keyword_parameters(CLASSIFICATION_METHODS.get(name)).items()
                      if k not in ("teacher", "student")}
        assert (cfg["methods"][name] or {}) == parameters, name


class NoTeacher(torch.nn.Module):
    def forward(self, *args, **kwargs):
        raise AssertionError("the teacher ran")


@pytest.mark.parametrize("name", [n for n, (outputs, offline, _) in DECLARED.items() if outputs and offline])
def test_an_offline_method_learns_from_cached_logits_without_a_teacher_forward(name):
    torch.manual_seed(0)
    student = bert()
    cached = torch.tensor([[2.0, -1.0], [0.5, 0.5], [-1.0, 3.0]])
    terms = CLASSIFICATION_METHODS.get(name)()(student, NoTeacher(), batch_of(teacher_logits=cached))
    assert set(terms) == {"ce", "kd" if name == "kd" else "mse"} and all(torch.isfinite(t) for t in terms.values())
    with pytest.raises(AssertionError, match="the teacher ran"):  # online (no cached logits) it does ask the teacher
        CLASSIFICATION_METHODS.get(name)()(student, NoTeacher(), batch_of())


def test_kd_with_alpha_one_half_is_the_old_half_ce_half_kl():
    """``distill.weights={ce: 0.5, kd: 0.5}`` (the README's runs) = method.name=kd with alpha 0.5:
    0.5 CE + 0.5 T^2 KL."""
    student, teacher = torch.tensor([[1.0, 2.0], [0.0, -1.0], [3.0, 1.0]]), torch.tensor([[2.0, 0.0], [1.0, 1.5],
                                                                                             [-2.0, 1.0]])
    batch = batch_of(teacher_logits=teacher)
    method = CLASSIFICATION_METHODS.get("kd")()  # the preset's defaults: T = 4, alpha = 0.5
    total = method.total(method(lambda **_: SequenceClassifierOutput(logits=student), None, batch))
    p, log_q = F.softmax(teacher / 4, -1), F.log_softmax(student / 4, -1)
    kl = 16 * (p * (p.log() - log_q)).sum(-1).mean()
    assert total.item() == pytest.approx((0.5 * F.cross_entropy(student, batch["labels"]) + 0.5 * kl).item(), rel=1e-6)
    assert method.weights == {"ce": 0.5, "kd": 0.5}
    tinybert = CLASSIFICATION_METHODS.get("tinybert")(teacher=bert(32, 2, 2), student=bert(), hidden_weight=0.1,
                                                      attention_weight=0.0)
    assert tinybert.weights == {"ce": 0.5, "kd": 0.5, "hidden": 0.1, "attention": 0.0}  # {ce: .5, kd: .5, hidden: .1}
    distilbert = CLASSIFICATION_METHODS.get("distilbert")(teacher=bert(16), student=bert(16))
    assert distilbert.weights == {"ce": 0.5, "kd": 0.5, "cosine": 1.0}


def test_a_near_miss_in_a_method_section_names_the_argument_meant(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown config key 'methods.kd.temprature'; did you mean "
                                          r"'methods.kd.temperature'\?"):
        config("methods.kd.temprature=2")
    preset = tmp_path / "mine.yaml"  # a preset of one's own: checked key by key against the defaults
    preset.write_text("task: classification\nmethods:\n  kd:\n    temprature: 2.0\n")
    with pytest.raises(ConfigError) as error:
        run_stage("distill", "test", ["--config", str(preset), "--runs-dir", str(tmp_path / "runs")])
    assert str(error.value) == (f"unknown config key 'methods.kd.temprature' in {preset}; did you mean "
                                "'methods.kd.temperature'?")
    assert not (tmp_path / "runs").exists()


def test_switching_method_name_uses_that_methods_own_section():
    cfg = config("methods.kd.temperature=2.0", "methods.kd.alpha=0.9", "method.name=distilbert", "distill.mode=online")
    assert method_settings(cfg) == {"temperature": 4.0, "alpha": 0.5, "cosine_weight": 1.0}
    method = CLASSIFICATION_METHODS.get("distilbert")(teacher=bert(16), student=bert(16), **method_settings(cfg))
    assert method.temperature == 4.0 and method.weights["kd"] == 0.5
    assert method_settings(config("methods.kd.temperature=2.0")) == {"temperature": 2.0, "alpha": 0.5}
    assert method_settings(config("method.name=supervised", "methods.kd.alpha=1.0")) == {}


def test_an_unknown_method_is_one_line_listing_the_choices(tmp_path):
    with pytest.raises(ConfigError) as error:
        run_stage("distill", "test", ["--config", "trec", "method.name=tiny_bert", "--runs-dir", str(tmp_path)])
    assert str(error.value) == ("unknown method.name 'tiny_bert' (did you mean 'tinybert'?); the text-classification "
                                "methods are: distilbert, kd, logit_mse, supervised, tinybert")
    with pytest.raises(ConfigError, match="methods.hinton: no method is called 'hinton'; the text-classification"):
        config("+methods.hinton.alpha=0.5")
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("override, replacement", [
    ("distill.weights={ce: 1.0}", "{ce: 1.0} is method.name=supervised; {ce: 1-a, kd: a} is method.name=kd "
                                  "methods.kd.alpha=a"),
    ("distill.weights.mse=0.5", "{ce: 1-a, mse: a} is method.name=logit_mse methods.logit_mse.alpha=a"),
    ("distill.temperature=2", "methods.<name>.temperature (e.g. methods.kd.temperature=2)"),
    ("distill.feature_epochs=3", "methods.tinybert.feature_epochs"),
])
def test_the_old_distill_weights_name_the_keys_that_replace_them(override, replacement):
    with pytest.raises(ConfigError) as error:
        config(override)
    key = override.split("=")[0]
    assert str(error.value).startswith(f"config key '{key}' was renamed to ") and replacement in str(error.value)


def test_a_run_of_the_old_keys_is_refused_on_resume(tmp_path):
    old = config()
    old["distill"]["weights"] = {"ce": 0.5, "kd": 0.5}
    save_yaml(old, tmp_path / "config.yaml")
    with pytest.raises(ConfigError, match=r"config key 'distill.weights.ce' in .*config.yaml \(a run of an earlier "
                                          r"version\) was renamed to method.name and methods"):
        load_nlp_config(argparse.Namespace(config=None, overrides=[], seed=None, resume=str(tmp_path)))


def test_feature_methods_check_the_models_before_training():
    with pytest.raises(ConfigError, match="attention_heads=none compares the attention maps head by head, but the "
                                          "student has 2 heads and the teacher 4"):
        CLASSIFICATION_METHODS.get("tinybert")(teacher=bert(16, 4), student=bert(16, 2), attention_heads="none")
    with pytest.raises(ConfigError, match="the student has 3 layers and the teacher 2: set student.num_layers <= 2"):
        CLASSIFICATION_METHODS.get("tinybert")(teacher=bert(layers=2), student=bert(layers=3))
    with pytest.raises(ConfigError, match="student.hidden_size=16 vs the teacher's 32; set student.hidden_size=32"):
        CLASSIFICATION_METHODS.get("distilbert")(teacher=bert(32), student=bert(16))
    with pytest.raises(KDError, match="reads the student's hidden states layer by layer"):
        CLASSIFICATION_METHODS.get("tinybert")(teacher=bert(), student=BiLSTMClassifier(vocab_size=20, num_labels=2))
    tinybert = CLASSIFICATION_METHODS.get("tinybert")(teacher=bert(32, 2, 4), student=bert(16, 2, 2))
    assert len(tinybert.projections) == 3  # embeddings + 2 layers, each mapped 16 -> 32
    terms = tinybert(bert(16, 2, 2), bert(32, 2, 4), batch_of())
    assert set(terms) == {"ce", "kd", "hidden", "attention"} and all(math.isfinite(t.item()) for t in terms.values())
