"""Every command written in the READMEs and in the shell scripts still parses and configures: a documented command,
or one a script runs to make a README table, cannot silently rot.

Each ``python -m kd.<domain>.scripts.<name> ...`` in the READMEs (code blocks, with their shell variables and the
first value of their ``for`` loops, and inline commands) and each one a repository ``*.sh`` script runs (read by the
small parser below, with every value of its ``for`` loops) is parsed by its script's own argument parser (so its
flags exist and its values have the right types), then, for the scripts that read a config, its config is
loaded and checked by the domain's loader exactly as the script does before it reads any data: the preset
exists, every override names a key (no renamed or mistyped one), and in vision the model and method names and
arguments exist, in RL the method name and its section's arguments, no ``distill`` key or student training setting
that kickstarting would not read, and evaluate's ``evaluate.*`` keys. Data, checkpoints and run folders are not needed: the paths in the READMEs are placeholders, and so are
the ``$(...)`` results in the scripts. A kd command in a script that the parser cannot follow fails
``test_every_kd_command_of_the_scripts_is_parsed``; each script's share of commands is pinned from below by
``test_the_scripts_give_their_commands``.
(``--dry-run`` goes further, through the data and the checkpoints: tests/common/test_common_cli_help.py.)
"""
import argparse
import importlib
import os
import re
import shlex
from pathlib import Path

import pytest

from kd.nlp.scripts.launch import load_nlp_config
from kd.nlp.tasks import TASKS
from kd.rl.distillation.methods import checked_method_name
from kd.rl.run_setup import load_rl_config
from kd.rl.scripts.distill import refuse_policy_distillation_keys
from kd.rl.scripts.evaluate import evaluate_settings
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


def specialists(args):
    check_names(load_specialists_config(args))


def nlp(args):
    TASKS.get(load_nlp_config(args)["task"])


def rl_distill(args):
    config = load_rl_config(args)
    checked_method_name(config)
    refuse_policy_distillation_keys(config, args)


def configured(name: str):
    """How the script ``name`` loads and checks its config before reading data (None: it reads no config)."""
    domain, script = name.split(".")[1], name.rsplit(".", 1)[1]
    if domain == "vision" and script in ("train_teacher", "distill", "compare", "quickstart", "evaluate"):
        return vision(importlib.import_module(name))
    return {"kd.vision.scripts.method_table": load_table_config, "kd.vision.scripts.lr_sweep": load_table_config,
            "kd.vision.scripts.specialists": specialists, "kd.nlp.scripts.train_teacher": nlp,
            "kd.nlp.scripts.distill": nlp, "kd.nlp.scripts.evaluate": nlp,
            "kd.rl.scripts.train_teacher": load_rl_config,
            "kd.rl.scripts.distill": rl_distill, "kd.rl.scripts.evaluate": evaluate_settings}.get(name)


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


# The shell scripts (NLP/scripts/cpu_results_*.sh): a small parser, not a shell. A script is read as logical lines
# (comments cut; lines continued by a backslash, or by a quoted value still open, joined); each line is expanded as
# text, then split into words by shlex: ``$VAR``, ``${VAR}`` and ``${VAR:-default}`` by the variables assigned so far
# (values stored expanded, so a variable built from others, or a loop variable whose value is "$BILSTM", holds the
# final text), ``$(dirname "$0")`` by the script's folder, any other ``$(...)`` by a placeholder path, '...' kept as
# it is. ``source``/``.`` reads the named script in place; ``for NAME in WORDS`` runs its body once for EVERY word;
# any other block (if, while) runs its body once, straight through; a function's body is not run. Each simple
# command (lines split at ; && || | &, cut at a redirection) is an assignment (NAME=value, alone or after
# export/local), a kd command (``<...>python -m kd.<domain>.scripts.<name> ARGS``), or another command, ignored.
# A kd script named anywhere else (in a function, as another command's argument: nohup, timeout; with an unset
# variable) is UNPARSED. Not read: '...' inside "...", $((...)), here-documents.
SCRIPT_PLACEHOLDER = "PLACEHOLDER"  # what a $(...) substitution stands for: a path, in these scripts
EXPANSION = re.compile(r"'[^']*'|\$\((?:[^()]|\([^()]*\))*\)|\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)")
KD_SCRIPT = re.compile(r"kd\.\w+\.scripts\.\w+")
KD_COMMAND = re.compile(r"^(?:\S*/)?python[\d.]*$")  # the word before ``-m kd.<domain>.scripts.<name>``
ASSIGNED = re.compile(r"^([A-Za-z_]\w*)=(.*)$", re.S)
FUNCTION = re.compile(r"^(?:function\s+)?\w+\s*\(\)\s*\{?")
FOR = re.compile(r"^for\s+(\w+)\s+in\s+(.*?)\s*(?:;\s*do)?$", re.S)
LEADING = {"if", "then", "elif", "else", "fi", "do", "done", "while", "until", "!", "{", "}"}
DECLARE = {"export", "local", "readonly", "declare"}


def shell_scripts() -> list[Path]:
    """Every ``*.sh`` of the repository, relative to it (hidden folders, virtual environments and runs left out)."""
    found = []
    for folder, subfolders, files in os.walk(REPO):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith(".") and name not in
                               ("runs", "__pycache__") and not (Path(folder, name) / "pyvenv.cfg").exists())
        found += [Path(folder, name).relative_to(REPO) for name in sorted(files) if name.endswith(".sh")]
    return found


def logical_lines(script: Path) -> list[tuple[int, str]]:
    """``(first line number, text)`` of each logical line: comments cut, a line ending in a backslash joined to the
    next, and a quoted value that runs over several lines (``SMALL_BERT="...<newline>..."``) kept whole."""
    found, text, start, quote = [], "", 0, None
    for number, line in enumerate((REPO / script).read_text().splitlines(), 1):
        kept, escaped = "", False
        for position, char in enumerate(line):
            if quote is None and char == "#" and (position == 0 or line[position - 1].isspace()):
                break  # a comment
            kept += char
            if escaped:
                escaped = False
            elif char == "\\" and quote != "'":
                escaped = True
            elif char in "\"'" and quote in (None, char):
                quote = None if quote else char
        start = start or number
        if quote is not None:
            text += kept + "\n"
        elif kept.rstrip().endswith("\\"):
            text += kept.rstrip()[:-1] + " "
        else:
            if (text + kept).strip():
                found.append((start, (text + kept).strip()))
            text, start = "", 0
    if quote is not None or text.strip():
        raise ValueError(f"{script}:{start}: a quote or a backslash continuation is never closed")
    return found


def expand(text: str, variables: dict[str, str]) -> str:
    """``text`` with its variables and ``$(...)`` substitutions replaced; an unset variable without a default becomes
    ``UNSET:<name>`` (a kd command holding one is UNPARSED)."""
    def value(match):
        whole, name = match.group(0), match.group(1) or match.group(3)
        if whole.startswith("'"):
            return whole
        if whole.startswith("$("):
            return SCRIPT_PLACEHOLDER
        if variables.get(name):
            return variables[name]
        return expand(match.group(2), variables) if match.group(2) is not None else f"UNSET:{name}"
    return EXPANSION.sub(value, text)


def simple_commands(text: str) -> list[list[str]]:
    """The words of each simple command of an expanded line: split at ``; && || | &``, cut at a redirection."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split, lexer.commenters = True, ""
    commands, words, redirected = [], [], False
    for token in list(lexer) + [";"]:
        if token and set(token) <= set("();<>|&"):
            if "<" in token or ">" in token:
                redirected = True
                if words and words[-1].isdigit():  # 2>&1
                    words.pop()
                continue
            commands.append(words)
            words, redirected = [], False
        elif not redirected:
            words.append(token)
    return commands


def run_lines(script: Path, lines: list[tuple[int, str]], variables: dict[str, str], loops: str,
              found: list, unparsed: list) -> None:
    """Follow ``lines`` of ``script``: assignments into ``variables``, kd commands into ``found`` as ``(where, script
    module, argv)``, what names a kd script but is not followed into ``unparsed`` as ``(where, why)``."""
    index = 0
    while index < len(lines):
        number, line = lines[index]
        index += 1
        where = f"{script}:{number}{loops}"
        line = line.replace('$(dirname "$0")', str(script.parent)).replace("$(dirname $0)", str(script.parent))
        if FUNCTION.match(line):  # a helper: its body is not run (a kd command in it is UNPARSED)
            body = [line]
            while not body[-1].rstrip().endswith("}") and index < len(lines):
                body.append(lines[index][1])
                index += 1
            if KD_SCRIPT.search(expand("\n".join(body), variables)):
                unparsed.append((where, "a kd command inside a shell function"))
            continue
        loop = FOR.match(line)
        if line.startswith("for ") and not loop:
            unparsed.append((where, f"a for loop this parser cannot read: {line!r}"))
            continue
        if loop:
            depth, end = 1, index
            while end < len(lines) and depth:
                first = lines[end][1].split()[0]
                depth += (first in ("for", "while", "until", "select")) - (first == "done")
                end += 1
            body = lines[index:end - 1]
            body = body[1:] if body and body[0][1] == "do" else body
            index = end
            words = shlex.split(expand(loop.group(2), variables))
            for count, word in enumerate(words, 1):
                variables[loop.group(1)] = word
                run_lines(script, body, variables, f"{loops} {loop.group(1)}#{count}", found, unparsed)
            continue
        for words in simple_commands(expand(line, variables)):
            while words and words[0] in LEADING:
                words = words[1:]
            declared = bool(words) and words[0] in DECLARE
            assignments = []
            for word in words[declared:]:
                if not ASSIGNED.match(word):
                    break
                assignments.append(ASSIGNED.match(word).groups())
            rest = words[declared + len(assignments):]
            if not rest or declared:
                variables.update(assignments)  # NAME=value (a value that expands to several words: quote it)
            elif rest[0] in ("source", ".") and len(rest) == 2:
                if (REPO / rest[1]).is_file():
                    run_lines(Path(rest[1]), logical_lines(Path(rest[1])), variables, loops, found, unparsed)
                else:
                    unparsed.append((where, f"sourced file not found: {rest[1]}"))
            elif len(rest) >= 3 and KD_COMMAND.match(rest[0]) and rest[1] == "-m" and KD_SCRIPT.fullmatch(rest[2]):
                if any("UNSET:" in word for word in rest):
                    unparsed.append((where, f"an unset variable in {rest}"))
                else:
                    found.append((where, rest[2], rest[3:]))
            elif any(KD_SCRIPT.search(word) for word in rest):
                unparsed.append((where, f"a kd script named where no kd command was read: {rest}"))


def script_commands() -> tuple[list[tuple[str, str, list[str]]], list[tuple[str, str]]]:
    """``(where, script module, argv)`` of every kd command the repository's shell scripts run, once for every
    combination of their loops' values; and ``(where, why)`` of what names a kd script but could not be read."""
    found, unparsed = [], []
    for script in shell_scripts():
        run_lines(script, logical_lines(script), {}, "", found, unparsed)
    return found, unparsed


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


README_COMMANDS = documented_commands()
SCRIPT_COMMANDS, UNPARSED = script_commands()
COMMANDS = README_COMMANDS + SCRIPT_COMMANDS
# The least each script gives, so that its coverage cannot vanish unnoticed: (kd commands, distill configurations,
# the seed aside).
SCRIPT_MINIMUM = {"NLP/scripts/cpu_results_sst2_full.sh": (17, 5), "NLP/scripts/cpu_results_multi30k_full.sh": (11, 3),
                  "NLP/scripts/cpu_results_classification.sh": (17, 12), "NLP/scripts/cpu_results_lm.sh": (3, 2),
                  "NLP/scripts/cpu_results_translation.sh": (4, 3)}


def test_the_readmes_hold_commands_of_every_domain():
    scripts = {module for _, module, _ in README_COMMANDS}
    assert len(README_COMMANDS) > 80 and {"kd.vision.scripts.method_table", "kd.nlp.scripts.distill",
                                          "kd.rl.scripts.distill"} <= scripts


def test_every_kd_command_of_the_scripts_is_parsed():
    assert not UNPARSED, "\n".join(f"{where}: {why}" for where, why in UNPARSED)


@pytest.mark.parametrize("script, minimum", SCRIPT_MINIMUM.items())
def test_the_scripts_give_their_commands(script, minimum):
    commands = [(name, argv) for where, name, argv in SCRIPT_COMMANDS if where.split(":")[0] == script]
    configurations = {tuple(a for a in argv if not a.startswith("seed=")) for name, argv in commands
                      if name == "kd.nlp.scripts.distill"}
    assert len(commands) >= minimum[0] and len(configurations) >= minimum[1], (script, commands)


def test_the_script_parser_follows_loops_and_refuses_what_it_cannot_read(tmp_path):
    script = tmp_path / "example.sh"
    script.write_text('''P="python -m kd.nlp.scripts"
A="--config sst2 x=1"  # a comment
B="y=2
z=3"
run() { $P.distill $A; }
for V in "$A" "$B"; do
  for S in ${SEEDS:-0 1}; do
    $P.distill $V seed=$S | tee log 2>&1
  done
done
$P.evaluate $UNSET_VAR
cd runs && $P.report --runs $(ls -d runs/*) \\
  --out report
nohup $P.distill $A > log &
''')
    found, unparsed = [], []
    run_lines(script, logical_lines(script), {}, "", found, unparsed)
    assert [argv for _, _, argv in found] == [["--config", "sst2", "x=1", f"seed={s}"] for s in "01"] + [
        ["y=2", "z=3", f"seed={s}"] for s in "01"] + [["--runs", SCRIPT_PLACEHOLDER, "--out", "report"]]
    assert [where.split(":")[1] for where, _ in unparsed] == ["5", "11", "14"]  # the function, the unset variable, nohup


@pytest.mark.parametrize("where, name, argv", COMMANDS, ids=[f"{w} {n.rsplit('.', 1)[1]}" for w, n, _ in COMMANDS])
def test_a_documented_command_parses_and_configures(where, name, argv):
    module = importlib.import_module(name)
    parser = own_parser(module)
    parser.exit = lambda status=0, message=None: pytest.fail(f"{where}: {message}")  # argparse errors end here
    args = parser.parse_args(argv)
    load = configured(name)
    if load is not None and not getattr(args, "resume", None):
        load(args)
