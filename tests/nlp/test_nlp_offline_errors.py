"""Offline, a download gives one line that names the local option, and the script exits non-zero."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run(*args):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("config, hint", [("sst2", "data.path=FOLDER holding train.tsv"),
                                          ("multi30k", "data.path=FOLDER holding {train,val,test_2016_flickr}")])
def test_dataset_download_offline_is_one_line(config, hint, tmp_path):
    result = run("-m", "kd.nlp.scripts.train_teacher", "--config", f"NLP/configs/{config}.yaml",
                 "--runs-dir", str(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: could not download") and hint in lines[0]


def test_hub_model_offline_names_the_packaged_minilm():
    result = run("-c", "from kd.nlp.teacher_model import load_hf_tokenizer; load_hf_tokenizer('bert-base-uncased')")
    assert result.returncode != 0
    assert "OfflineError" in result.stderr and "teacher.name=minilm" in result.stderr
