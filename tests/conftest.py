"""Fixtures shared by the domains' tests."""
import os
import sys

import pytest

LAUNCHER_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@pytest.fixture(scope="session")
def torchrun():
    """``torchrun(nproc, *args)``: the command line of ``torch.distributed.run --standalone`` with ``nproc``
    processes, and ``torchrun.env``: an environment without a parent launcher's variables, one thread each."""
    def command(nproc: int, *args: str) -> list[str]:
        return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *args]

    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    for name in LAUNCHER_VARIABLES:
        env.pop(name, None)
    command.env = env
    return command
