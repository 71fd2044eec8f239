"""The run folder's name: one rule in every domain (kd.common.utils.run_folder.run_name)."""
import pytest

from kd.common.utils.run_folder import RunFolder, run_name


def test_a_run_name_is_domain_data_script_and_seed():
    assert run_name("vision", "cifar10", "distill", 0) == "vision-cifar10-distill-s0"
    assert run_name("nlp", "sst2", "train_teacher", 2) == "nlp-sst2-train_teacher-s2"
    assert run_name("rl", "ALE/Pong-v5", "distill", 1) == "rl-ALE-Pong-v5-distill-s1"  # a gymnasium id's "/"
    assert run_name("vision", "digits", "compare") == "vision-digits-compare"  # several seeds: none named
    assert run_name("nlp", None, "report") == "nlp-report"  # a report over several data sets
    assert run_name("nlp", "my data (v2)", "distill", 0) == "nlp-my-data-v2-distill-s0"
    with pytest.raises(ValueError, match="unknown domain 'image'; one of vision, nlp, rl"):
        run_name("image", "cifar10", "distill")


def test_two_runs_started_in_the_same_second_get_two_folders_even_when_both_find_the_name_free(tmp_path, monkeypatch):
    """Another process may make the folder between a check that the name is free and its mkdir: the folder is taken
    by a mkdir that fails on an existing folder, not by a check before it (here every check says free)."""
    import pathlib

    monkeypatch.setattr("kd.common.utils.run_folder.time.strftime", lambda fmt: "20261130-151000")
    monkeypatch.setattr(pathlib.Path, "exists", lambda self: False)
    first, second = (RunFolder.create("vision-digits-distill", tmp_path, tensorboard=False).path for _ in range(2))
    assert first != second and first.is_dir() and second.is_dir()


def test_create_appends_the_time_and_a_suffix_when_the_name_is_taken(tmp_path, monkeypatch):
    monkeypatch.setattr("kd.common.utils.run_folder.time.strftime", lambda fmt: "20261130-151000")
    names = [RunFolder.create(run_name("rl", "cartpole", "train_teacher", 3), tmp_path, tensorboard=False).path.name
             for _ in range(3)]
    assert names == ["rl-cartpole-train_teacher-s3-20261130-151000", "rl-cartpole-train_teacher-s3-20261130-151000-1",
                     "rl-cartpole-train_teacher-s3-20261130-151000-2"]
