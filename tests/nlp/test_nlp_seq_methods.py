"""The translation and causal-LM methods by name (kd.nlp.methods.TRANSLATION_METHODS, LM_METHODS): what each declares
it needs from the teacher, default.yaml listing every method's arguments at their defaults, the same losses as the
earlier ``distill.weights`` / ``distill.targets`` (the README's rows), each method's own config section (a near miss
named, switching method.name never handing one method's settings to another), and the old keys refused with the ones
that replace them, before any run folder. No data and no training: the behaviour tests (each KD term must teach)
are in test_nlp_translation_kd.py and test_nlp_lm_kd.py."""
import argparse

import pytest
import torch
import torch.nn.functional as F
from transformers.modeling_outputs import CausalLMOutput

from kd.common.utils.config import save_yaml
from kd.common.utils.errors import ConfigError
from kd.common.utils.method_sections import method_settings
from kd.common.utils.registry import keyword_parameters
from kd.nlp.methods import LM_METHODS, TRANSLATION_METHODS
from kd.nlp.scripts.launch import load_nlp_config, run_stage, task_defaults

# name -> what it reads from the teacher
TRANSLATION = {"supervised": (), "word_kd": ("logits",), "seq_kd": ("beam_outputs",),
               "seq_word_kd": ("beam_outputs", "logits")}
LM = {"supervised": (), "kd": ("logits",)}
PRESETS = [("multi30k", "translation", TRANSLATION_METHODS), ("lm", "language_model", LM_METHODS)]


def config(*overrides, preset="multi30k"):
    return load_nlp_config(argparse.Namespace(config=preset, overrides=list(overrides), seed=None, resume=None))


def test_each_method_declares_what_it_needs_from_the_teacher():
    assert TRANSLATION_METHODS.names() == sorted(TRANSLATION) and LM_METHODS.names() == sorted(LM)
    for registry, declared in ((TRANSLATION_METHODS, TRANSLATION), (LM_METHODS, LM)):
        for name, outputs in declared.items():
            cls = registry.get(name)
            assert cls.teacher_outputs == outputs, name
            assert cls.needs_teacher == ("logits" in outputs), name  # a teacher forward on every batch
            assert cls.__doc__ or __import__(cls.__module__, fromlist=["_"]).__doc__  # formula and paper
    for name, outputs in TRANSLATION.items():
        method = TRANSLATION_METHODS.get(name)()
        assert method.uses_beam_outputs == ("beam_outputs" in outputs)
        assert (method.beam_size == 4) == method.uses_beam_outputs  # the teacher's beam, a method setting


@pytest.mark.parametrize("preset, task, registry", PRESETS)
def test_the_defaults_list_every_method_with_its_constructor_defaults(preset, task, registry):
    cfg = task_defaults(task)
    assert config(preset=preset)["methods"] == cfg["methods"]
    assert not {"weights", "temperature", "targets", "beam_size", "label_smoothing"} & set(cfg.get("distill", {}))
    assert sorted(cfg["methods"]) == registry.names()
    for name in registry.names():
        parameters = {k: p.default for k, p in keyword_parameters(registry.get(name)).items()}
        assert (cfg["methods"][name] or {}) == parameters, name
    assert cfg["method"]["name"] == {"multi30k": "word_kd", "lm": "kd"}[preset]


def seq_batch():
    g = torch.Generator().manual_seed(0)
    mask = torch.tensor([[True, True, True], [True, True, False]])
    return {"src": torch.zeros(2, 5, dtype=torch.long), "src_mask": torch.ones(2, 5, dtype=torch.bool),
            "tgt_in": torch.zeros(2, 3, dtype=torch.long), "tgt_out": torch.randint(0, 4, (2, 3), generator=g),
            "tgt_mask": mask}


def test_the_defaults_are_the_losses_of_the_readme_rows():
    """word_kd (alpha 0.5, T 1) = the earlier distill.weights={ce: 0.5, kd: 0.5}; seq_kd and supervised = {ce: 1.0}
    (on the beam outputs or the references); seq_word_kd = {ce: 0.5, kd: 0.5} on the beam outputs; LM kd likewise."""
    g = torch.Generator().manual_seed(1)
    student, teacher = torch.randn(2, 3, 4, generator=g), torch.randn(2, 3, 4, generator=g)
    batch = seq_batch()
    m = batch["tgt_mask"]
    ce = F.cross_entropy(student[m], batch["tgt_out"][m])
    p, log_q = F.softmax(teacher[m], -1), F.log_softmax(student[m], -1)
    kl = (p * (p.log() - log_q)).sum(-1).mean()
    for name, expected in (("word_kd", 0.5 * ce + 0.5 * kl), ("seq_word_kd", 0.5 * ce + 0.5 * kl),
                           ("seq_kd", ce), ("supervised", ce)):
        method = TRANSLATION_METHODS.get(name)()
        terms = method(lambda *a: student, lambda *a: teacher, batch)
        assert method.total(terms).item() == pytest.approx(expected.item(), rel=1e-6), name
        assert set(terms) == ({"ce", "kd"} if method.needs_teacher else {"ce"}), name
    lm_student, lm_teacher = torch.randn(2, 4, 5, generator=g), torch.randn(2, 4, 5, generator=g)
    ids, attn = torch.randint(0, 5, (2, 4), generator=g), torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    real = attn[:, 1:].bool()
    ce = F.cross_entropy(lm_student[:, :-1][real], ids[:, 1:][real])
    p, log_q = F.softmax(lm_teacher[:, :-1][real], -1), F.log_softmax(lm_student[:, :-1][real], -1)
    kl = (p * (p.log() - log_q)).sum(-1).mean()
    for name, expected in (("kd", 0.5 * ce + 0.5 * kl), ("supervised", ce)):
        method = LM_METHODS.get(name)()
        terms = method(lambda **_: CausalLMOutput(logits=lm_student), lambda **_: CausalLMOutput(logits=lm_teacher),
                       {"input_ids": ids, "attention_mask": attn})
        assert method.total(terms).item() == pytest.approx(expected.item(), rel=1e-6), name


def test_a_near_miss_in_a_method_section_names_the_argument_meant(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown config key 'methods.word_kd.temprature'; did you mean "
                                          r"'methods.word_kd.temperature'\?"):
        config("methods.word_kd.temprature=2")
    preset = tmp_path / "mine.yaml"  # a preset of one's own: checked key by key against the defaults
    preset.write_text("task: translation\nmethods:\n  word_kd:\n    temprature: 2.0\n")
    with pytest.raises(ConfigError) as error:
        run_stage("distill", "test", ["--config", str(preset), "--runs-dir", str(tmp_path / "runs")])
    assert str(error.value) == (f"unknown config key 'methods.word_kd.temprature' in {preset}; did you mean "
                                "'methods.word_kd.temperature'?")
    with pytest.raises(ConfigError, match="language-model method 'kd' takes no argument 'beam_size'"):
        config("+methods.kd.beam_size=4", preset="lm")
    assert not (tmp_path / "runs").exists()


def test_switching_method_name_uses_that_methods_own_section():
    cfg = config("methods.word_kd.temperature=2.0", "methods.word_kd.alpha=0.9", "method.name=seq_word_kd")
    assert method_settings(cfg) == {"alpha": 0.5, "temperature": 1.0, "beam_size": 4, "label_smoothing": 0.0}
    method = TRANSLATION_METHODS.get("seq_word_kd")(**method_settings(cfg))
    assert method.temperature == 1.0 and method.weights == {"ce": 0.5, "kd": 0.5}
    assert method_settings(config("methods.word_kd.temperature=2.0")) == {"alpha": 0.5, "temperature": 2.0,
                                                                          "label_smoothing": 0.0}
    assert method_settings(config("method.name=seq_kd", "methods.seq_word_kd.beam_size=8")) == {
        "beam_size": 4, "label_smoothing": 0.0}
    assert method_settings(config("method.name=supervised", "methods.kd.alpha=1.0", preset="lm")) == {}


def test_an_unknown_method_is_one_line_listing_the_choices(tmp_path):
    with pytest.raises(ConfigError) as error:
        run_stage("distill", "test", ["--config", "multi30k", "method.name=seqkd", "--runs-dir", str(tmp_path)])
    assert str(error.value) == ("unknown method.name 'seqkd' (did you mean 'seq_kd'?); the translation methods are: "
                                "seq_kd, seq_word_kd, supervised, word_kd")
    with pytest.raises(ConfigError, match="unknown method.name 'tinybert'; the language-model methods are: kd, "
                                          "supervised"):
        config("method.name=tinybert", preset="lm")
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("preset, override, replacement", [
    ("multi30k", "distill.weights={ce: 1.0}", "{ce: 1.0} is method.name=supervised; {ce: 1-a, kd: a} is "
                                              "method.name=word_kd methods.word_kd.alpha=a"),
    ("multi30k", "distill.weights.kd=0.5", "{ce: 1.0} is method.name=seq_kd and {ce: 1-a, kd: a} is "
                                           "method.name=seq_word_kd"),
    ("multi30k", "distill.targets=teacher_beam", "teacher_beam is method.name=seq_kd (CE alone) or seq_word_kd"),
    ("multi30k", "distill.temperature=2", "methods.<name>.temperature (e.g. methods.word_kd.temperature=2)"),
    ("multi30k", "distill.beam_size=5", "methods.seq_kd.beam_size (or methods.seq_word_kd.beam_size)"),
    ("multi30k", "distill.label_smoothing=0.1", "methods.<name>.label_smoothing"),
    ("lm", "distill.weights={ce: 0.5, kd: 0.5}", "{ce: 1.0} is method.name=supervised; {ce: 1-a, kd: a} is "
                                                 "method.name=kd methods.kd.alpha=a"),
    ("lm", "distill.temperature=2", "methods.kd.temperature"),
])
def test_the_old_distill_keys_name_the_keys_that_replace_them(preset, override, replacement, tmp_path):
    with pytest.raises(ConfigError) as error:
        run_stage("distill", "test", ["--config", preset, override, "--runs-dir", str(tmp_path)])
    key = override.split("=")[0]
    assert str(error.value).startswith(f"config key '{key}' was renamed to ") and replacement in str(error.value)
    assert "\n" not in str(error.value) and not any(tmp_path.iterdir())


@pytest.mark.parametrize("preset, old", [("multi30k", {"weights": {"ce": 1.0}, "targets": "teacher_beam"}),
                                         ("lm", {"weights": {"ce": 0.5, "kd": 0.5}, "temperature": 1.0})])
def test_a_run_of_the_old_keys_is_refused_on_resume(preset, old, tmp_path):
    saved = config(preset=preset)
    saved.setdefault("distill", {}).update(old)  # the language model has no distill section now
    save_yaml(saved, tmp_path / "config.yaml")
    with pytest.raises(ConfigError, match=r"config key 'distill\.\w+(\.ce)?' in .*config.yaml \(a run of an earlier "
                                          r"version\) was renamed to "):
        load_nlp_config(argparse.Namespace(config=None, overrides=[], seed=None, resume=str(tmp_path)))
