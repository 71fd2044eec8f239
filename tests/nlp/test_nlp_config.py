"""NLP configs are read as in the other domains: ``--config`` takes a preset name, a near-miss key is an error
naming the key meant (before anything is loaded or created), a data key this data set does not read is refused when
set, and every task's method is switched by method.name with its own section methods.<name>
(tests/nlp/test_nlp_classification_methods.py and test_nlp_seq_methods.py: the rest of the method registries)."""
import pytest

from kd.common.utils.errors import ConfigError, KDError, MissingPathError
from kd.nlp.scripts.launch import run_stage


@pytest.mark.parametrize("argv, error, message", [
    (["--config", "sst2", "data.train_subet=8"], ConfigError,
     "unknown config key 'data.train_subet'; did you mean 'data.train_subset'?"),
    (["--config", "sst2", "distill.epoch=1"], ConfigError, "did you mean 'distill.epochs'?"),
    (["--config", "sst"], MissingPathError, "config 'sst' not found; pass a YAML path or one of: lm, multi30k, sst2"),
])
def test_near_misses_name_what_was_meant(argv, error, message, tmp_path):
    with pytest.raises(error, match=message.replace("?", r"\?")):
        run_stage("distill", "test", [*argv, "--runs-dir", str(tmp_path)])
    assert not any(tmp_path.iterdir())


def test_a_method_that_reads_the_teacher_asks_for_one(tmp_path):
    table = tmp_path / "train.tsv"
    table.write_text("text\tlabel\ngood\tpos\nbad\tneg\n")
    argv = ["--config", "sst2", "data.name=local", f"data.train_file={table}", f"data.dev_file={table}",
            "student.arch=bilstm", "method.name=logit_mse", "--runs-dir", str(tmp_path / "runs")]
    with pytest.raises(KDError, match="this run needs a fine-tuned teacher"):  # logit_mse declares it reads logits
        run_stage("distill", "test", argv)
    assert not (tmp_path / "runs").exists()


def test_translation_and_lm_set_a_method_in_its_own_section():
    from kd.nlp.scripts.launch import load_nlp_config
    from argparse import Namespace

    cfg = load_nlp_config(Namespace(config="lm", overrides=["methods.kd.alpha=0.25"], seed=None, resume=None))
    assert cfg["method"]["name"] == "kd" and cfg["methods"]["kd"] == {"alpha": 0.25, "temperature": 1.0}
    cfg = load_nlp_config(Namespace(config="multi30k", overrides=["method.name=seq_kd"], seed=None, resume=None))
    assert cfg["methods"]["seq_kd"] == {"beam_size": 4, "label_smoothing": 0.0}


@pytest.mark.parametrize("stage, argv, message", [
    ("train_teacher", ["--config", "sst2", "data.text_column=sentence"],
     "data.text_column='sentence' is not read by data.name=sst2 (it takes data.path); drop it, or use data.name=local, "
     "which reads it"),
    ("train_teacher", ["--config", "lm", "data.train_file=train.txt"],
     "data.train_file='train.txt' is not read by data.name=multi30k_en (it takes data.path); drop it, or use "
     "data.name=text_files, which reads it"),
])
def test_a_data_key_this_data_set_does_not_read_is_one_line(stage, argv, message, tmp_path):
    with pytest.raises(ConfigError) as error:
        run_stage(stage, "test", [*argv, "--runs-dir", str(tmp_path)])
    assert str(error.value) == message
    assert not any(tmp_path.iterdir())
