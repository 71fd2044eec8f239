"""One config loader for every domain (kd.common.utils.script_config.load_script_config): vision's, NLP's and RL's
loaders give the same answer to ``--seed N``, to ``--seed`` on ``--resume`` and to a mistyped override, and each
domain's keys are in one defaults file, every key with a comment."""
from __future__ import annotations

import argparse

import pytest

from kd.common.utils.config import save_yaml
from kd.common.utils.errors import ConfigError
from kd.nlp.scripts import launch
from kd.nlp.scripts.launch import load_nlp_config
from kd.rl import run_setup
from kd.rl.run_setup import load_rl_config
from kd.vision import pipeline
from kd.vision.pipeline import load_experiment_config

# domain -> (its loader, the preset a run of it needs)
DOMAINS = {
    "vision": (load_experiment_config, None),
    "nlp": (load_nlp_config, "sst2"),
    "rl": (load_rl_config, None),
}


# domain -> its defaults file: every key of every run of the domain, with its default and a comment
DEFAULTS_FILES = {"vision": pipeline.DEFAULT_CONFIG, "nlp": launch.DEFAULT_CONFIG, "rl": run_setup.DEFAULT_CONFIG}


def load(domain: str, *overrides: str, seed: int | None = None, resume=None) -> dict:
    loader, preset = DOMAINS[domain]
    return loader(argparse.Namespace(config=None if resume else preset, overrides=list(overrides), seed=seed,
                                     resume=None if resume is None else str(resume)))


def saved_run(domain: str, tmp_path, seed: int):
    """A run folder holding only the config.yaml of a ``--seed seed`` run of ``domain``."""
    folder = tmp_path / domain
    folder.mkdir()
    save_yaml(load(domain, seed=seed), folder / "config.yaml")
    return folder


@pytest.mark.parametrize("domain", list(DOMAINS))
def test_seed_flag_is_the_override_seed(domain):
    assert load(domain, seed=7)["seed"] == 7
    assert load(domain, "seed=5", seed=7)["seed"] == 7  # the flag comes last
    assert load(domain, "seed=5")["seed"] == 5


def test_seed_on_resume_is_refused_in_the_same_line_in_every_domain(tmp_path):
    lines = {}
    for domain in DOMAINS:
        run = saved_run(domain, tmp_path, seed=3)
        before = (run / "config.yaml").read_bytes()
        assert load(domain, seed=3, resume=run)["seed"] == 3  # the run's own seed is accepted
        with pytest.raises(ConfigError) as err:
            load(domain, seed=4, resume=run)
        lines[domain] = str(err.value)
        assert (run / "config.yaml").read_bytes() == before
    assert set(lines.values()) == {"--resume cannot change seed (3 -> 4): the run's checkpoints were made with the "
                                   "saved value; drop --seed 4, or start a new run"}, lines


def test_a_mistyped_override_names_the_key_meant_in_every_domain(tmp_path):
    fresh, resumed = {}, {}
    for domain in DOMAINS:
        with pytest.raises(ConfigError) as err:
            load(domain, "seeed=2")
        fresh[domain] = str(err.value)
        with pytest.raises(ConfigError) as err:
            load(domain, "seeed=2", resume=saved_run(domain, tmp_path, seed=0))
        resumed[domain] = str(err.value)
    assert set(fresh.values()) == set(resumed.values()) == {"unknown config key 'seeed'; did you mean 'seed'?"}, \
        (fresh, resumed)


@pytest.mark.parametrize("domain", DEFAULTS_FILES)
def test_each_domain_has_one_defaults_file_and_every_key_with_a_value_there_has_a_comment(domain):
    """The domain's configs/ holds one defaults file beside its presets, and a key line that holds a value (not a bare
    section header such as ``data:``) says what it is."""
    defaults = DEFAULTS_FILES[domain]
    assert defaults.name == "default.yaml" and [p for p in defaults.parent.rglob("default*") if p != defaults] == []
    lines = defaults.read_text().splitlines()
    keys = [line for line in lines if line.strip() and not line.lstrip().startswith("#") and not line.endswith(":")]
    assert len(keys) > 60 and all("#" in line for line in keys), [line for line in keys if "#" not in line]
