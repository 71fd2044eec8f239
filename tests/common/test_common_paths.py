"""require_writable_folder: the check every domain makes on a folder it will write outside the run folder."""
import os

import pytest

from kd.common.utils.errors import KDError, UnwritablePathError
from kd.common.utils.paths import require_writable_folder


def test_a_folder_that_can_be_written_is_returned_and_not_made(tmp_path):
    assert require_writable_folder(tmp_path / "a" / "b", "distill.cache_dir") == tmp_path / "a" / "b"
    assert require_writable_folder(str(tmp_path), "distill.cache_dir") == tmp_path
    assert not (tmp_path / "a").exists()  # made later, when the cache is first written


@pytest.mark.parametrize("inside", [False, True], ids=["the folder itself", "a parent"])
def test_a_file_in_the_way(tmp_path, inside):
    (tmp_path / "taken").write_text("x")
    folder = tmp_path / "taken" / "cache" if inside else tmp_path / "taken"
    with pytest.raises(UnwritablePathError) as error:
        require_writable_folder(folder, "distill.cache_dir")
    assert str(error.value) == (f"distill.cache_dir: cannot write the folder {folder}: {tmp_path / 'taken'} is a "
                                "file, not a folder; set distill.cache_dir to a folder, or move the file")
    assert isinstance(error.value, KDError) and error.value.exit_code == 2


def read_only_message(tmp_path):
    return (f"distill.cache_dir: cannot write the folder {tmp_path / 'ro' / 'cache'}: {tmp_path / 'ro'} is not "
            "writable; set distill.cache_dir to a folder you can write in")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in a read-only-mode folder")
def test_a_read_only_folder(tmp_path):
    (tmp_path / "ro").mkdir(mode=0o555)
    with pytest.raises(UnwritablePathError) as error:
        require_writable_folder(tmp_path / "ro" / "cache", "distill.cache_dir")
    assert str(error.value) == read_only_message(tmp_path)


def test_a_folder_the_process_may_not_write(tmp_path, monkeypatch):
    """What a read-only mount or a folder of another user looks like to os.access (as root, too)."""
    (tmp_path / "ro").mkdir()
    monkeypatch.setattr("kd.common.utils.paths.os.access", lambda path, mode: path != tmp_path / "ro")
    with pytest.raises(UnwritablePathError) as error:
        require_writable_folder(tmp_path / "ro" / "cache", "distill.cache_dir")
    assert str(error.value) == read_only_message(tmp_path)
