"""Every command written in the READMEs still parses and configures: a documented command cannot silently rot.

Each ``python -m kd.<domain>.scripts.<name> ...`` in the READMEs (code blocks, with their shell variables and the
first value of their ``for`` loops, and inline commands) is parsed by its script's own argument parser (so its
flags exist and its values have the right types), then, for the scripts that read a config, its config is
loaded and checked by the domain's loader exactly as the script does before it reads any data: the preset
exists, every override names a key (no renamed or mistyped one), and in vision the model and method names and
arguments exist, in RL the method name and its section's arguments, and no ``distill`` key that kickstarting would
not read. Data, checkpoints and run folders are not needed: the paths in the READMEs are placeholders.
(``--dry-run`` goes further, through the data and the checkpoints: tests/common/test_common_cli_help.py.)
"""
import argparse
import importlib
import re
import shlex
from pathlib import Path

import pytest

from kd.nlp.scripts.launch import load_nlp_config
from kd.nlp.tasks import TASKS
from kd.rl.distillation.methods import checked_method_name
from kd.rl.run_setup import load_rl_config
from kd.rl.scripts.distill import refuse_unread_distill_keys
from kd.vision.pipeline import check_names, load_experiment_config
from kd.vision.scripts.method_table import load_table_config
from kd.vision.scripts.specialists import load_specialists_config

REPO = Path(__file__).resolve().parents[2]
READMES = ["README.md", "image-classification/README.md", "image-classification/RESEARCH.md", "NLP/README.md",
           "reinforcement-learning/README.md", "benchmarks/README.md"]
COMMAND = re.compile(r"python -m (kd\.\w+\.scripts\.\w+)")
ASSIGNMENT = re.compile(r"""(?:^|`)([A-Z][A-Z0-9_]*)=("[^"]*"|\S+)""")
LOOP = re.compile(r"""for (\w+) in ("[^"]*"|\S+)""")
SHELL_END = {"|", ";", "&&", ">", "done", "do"}
PLACEHOLDERS = {"S": "1"}  # "--seed S" in the tables of runs


def vision(module):
    return lambda args: check_names(load_experiment_config(args, getattr(module, "DEFAULT_PRESET", None)))


def nlp(args):
    TASKS.get(load_nlp_config(args)["task"])


def rl_distill(args):
    config = load_rl_config(args)
    checked_method_name(config)
    refuse_unread_distill_keys(config, args)


def configured(name: str):
    """How the script ``name`` loads and checks its config before reading data (None: it reads no config)."""
    domain, script = name.split(".")[1], name.rsplit(".", 1)[1]
    if domain == "vision" and script in ("train_teacher", "distill", "compare", "quickstart", "evaluate"):
        return vision(importlib.import_module(name))
    return {"kd.vision.scripts.method_table": load_table_config, "kd.vision.scripts.lr_sweep": load_table_config,
            "kd.vision.scripts.specialists": load_specialists_config, "kd.nlp.scripts.train_teacher": nlp,
            "kd.nlp.scripts.distill": nlp, "kd.nlp.scripts.evaluate": nlp,
            "kd.rl.scripts.train_teacher": load_rl_config,
            "kd.rl.scripts.distill": rl_distill}.get(name)


def documented_commands() -> list[tuple[str, str, list[str]]]:
    """``(where, script module, argv)`` of every command in the READMEs, usage synopses (``[--flag X]``) left out."""
    found = []
    for readme in READMES:
        lines = (REPO / readme).read_text().splitlines()
        variables, in_block = {}, False
        for number, line in enumerate(lines):
            if line.lstrip().startswith("```"):
                in_block = not in_block
                continue
            for variable, value in ASSIGNMENT.findall(line):  # KD="$SST2 ...": earlier variables expanded
                variables[variable] = re.sub(r"\$(\w+)|\$\{(\w+)\}",
                                             lambda m: variables.get(m.group(1) or m.group(2), m.group(0)),
                                             value.strip('"'))
            for variable, values in LOOP.findall(line):
                variables[variable] = values.strip('"')
            for match in COMMAND.finditer(line):
                text = line[match.end():]
                if in_block:
                    following = number
                    while text.rstrip().endswith("\\") and following + 1 < len(lines):
                        following += 1
                        text = text.rstrip()[:-1] + " " + lines[following].strip()
                    text = re.split(r"\s#", text)[0]
                else:
                    text = text.split("`")[0]
                argv = command_argv(text, variables)
                if argv is not None and not match.group(1).rsplit(".", 1)[1].isupper():  # scripts.X: a placeholder
                    found.append((f"{readme}:{number + 1}", match.group(1), argv))
    return found


def command_argv(text: str, variables: dict[str, str]) -> list[str] | None:
    """The argv of a command line: ``<placeholders>`` and shell variables filled in, brace lists cut to their first
    item, cut at the end of the shell command; None for a usage synopsis."""
    text = re.sub(r"<[^<>]*>", "PLACEHOLDER", text)  # <stamp>, <model.pt of the row's teacher>
    text = re.sub(r"\$(\w+)|\$\{(\w+)\}", lambda m: variables.get(m.group(1) or m.group(2), "1"), text)
    argv = []
    for token in shlex.split(text):
        if token in SHELL_END:
            break
        if token.startswith("[") and "=" not in token:
            return None
        argv.append(PLACEHOLDERS.get(token, re.sub(r"=\{(\w+),[\w,]+\}$", r"=\1", token)))
    return argv


def own_parser(module) -> argparse.ArgumentParser:
    """The parser ``module.main`` builds, caught when it first parses."""
    class Caught(Exception):
        pass

    def catch(parser, *args, **kwargs):
        raise Caught(parser)

    original = argparse.ArgumentParser.parse_known_args
    argparse.ArgumentParser.parse_known_args = catch
    try:
        module.main([])
    except Caught as caught:
        return caught.args[0]
    finally:
        argparse.ArgumentParser.parse_known_args = original
    raise AssertionError(f"{module.__name__}.main parsed no arguments")


COMMANDS = documented_commands()


def test_the_readmes_hold_commands_of_every_domain():
    scripts = {module for _, module, _ in COMMANDS}
    assert len(COMMANDS) > 80 and {"kd.vision.scripts.method_table", "kd.nlp.scripts.distill",
                                   "kd.rl.scripts.distill"} <= scripts


@pytest.mark.parametrize("where, name, argv", COMMANDS, ids=[f"{w} {n.rsplit('.', 1)[1]}" for w, n, _ in COMMANDS])
def test_a_documented_command_parses_and_configures(where, name, argv):
    module = importlib.import_module(name)
    parser = own_parser(module)
    parser.exit = lambda status=0, message=None: pytest.fail(f"{where}: {message}")  # argparse errors end here
    args = parser.parse_args(argv)
    load = configured(name)
    if load is not None and not getattr(args, "resume", None):
        load(args)
