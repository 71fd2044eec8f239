"""``--help`` works for every script: each script module of every domain (and each benchmark script) prints its
usage and exits 0. A "%" in a help string, for one, makes argparse's formatting raise instead."""
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def script_modules() -> list[str]:
    """Every module of the domains' ``scripts`` packages that has a ``main`` (launch.py is shared plumbing)."""
    names = []
    for package in ("kd.vision.scripts", "kd.nlp.scripts", "kd.rl.scripts"):
        for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
            module = importlib.import_module(f"{package}.{info.name}")
            if hasattr(module, "main"):
                names.append(module.__name__)
    return names


def benchmark_scripts() -> list[str]:
    return sorted(p.stem for p in BENCHMARKS.glob("*.py") if "def main(" in p.read_text())


@pytest.mark.parametrize("name", script_modules())
def test_help_of_every_script(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        importlib.import_module(name).main(["--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and out.startswith("usage: ") and "--help" in out


@pytest.mark.parametrize("name", benchmark_scripts())
def test_help_of_every_benchmark(name, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the scripts import their timing helper as a sibling
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.startswith("usage: ")


def test_every_domain_has_its_scripts_covered():
    names = script_modules()
    for expected in ("kd.vision.scripts.distill", "kd.nlp.scripts.evaluate", "kd.rl.scripts.evaluate"):
        assert expected in names
    assert "kd.nlp.scripts.launch" not in names
