"""Fixtures shared by the domains' tests."""
import importlib.util
import os
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
LAUNCHER_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@pytest.fixture(scope="session")
def torchrun(tmp_path_factory):
    """``torchrun(nproc, *args)``: the command line of ``torch.distributed.run --standalone`` with ``nproc``
    processes, and ``torchrun.env``: an environment without a parent launcher's variables, one thread each, whose
    temporary folder is pytest's (the launcher leaves a ``torchelastic_*`` folder there on every run)."""
    def command(nproc: int, *args: str) -> list[str]:
        return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *args]

    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", TMPDIR=str(tmp_path_factory.mktemp("torchrun")))
    for name in LAUNCHER_VARIABLES:
        env.pop(name, None)
    command.env = env
    return command


@pytest.fixture
def one_torch_thread():
    """Run the test on one torch thread, restored afterwards: tiny models take many small steps, and a second
    thread only adds overhead (several times slower on 2 busy cores); the RL scripts run so too (``threads: 1``)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def load_benchmark(monkeypatch):
    """``load_benchmark(name)``: the module ``benchmarks/<name>.py``, imported by path (``benchmarks/`` is no package;
    it goes on ``sys.path`` for the test, as the scripts import their ``timing`` helper as a sibling)."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))

    def load(name: str):
        spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load


@pytest.fixture(scope="session")
def torch_compile_works():
    """Skip a test when this machine cannot compile with ``torch.compile`` (inductor needs a C++ compiler
    and the Python headers on the CPU); probed once with a one-line function."""
    import torch

    try:
        torch.compile(lambda x: x * 2 + 1)(torch.ones(2))
    except Exception as error:  # noqa: BLE001 - any failure means: no working compiler toolchain here
        pytest.skip(f"torch.compile does not work on this machine: {type(error).__name__}: {str(error)[:200]}")


@pytest.fixture(scope="session")
def assert_png():
    """``assert_png(path, min_width=500, min_height=300)``: the file is a PNG (its signature) whose size in
    pixels is sensible: at least the minimum, at most 4000 on a side."""
    import struct
    from pathlib import Path

    def check(path, min_width: int = 500, min_height: int = 300) -> None:
        data = Path(path).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
        width, height = struct.unpack(">II", data[16:24])
        assert min_width <= width <= 4000 and min_height <= height <= 4000, (path, width, height)

    return check
