"""The kd commands the repository documents, for tests/common/test_readme_commands.py: every
``python -m kd.<domain>.scripts.<name> ...`` (or ``torchrun ... -m kd.<domain>.scripts.<name> ...``) written in the
READMEs (:func:`documented_commands`) and every one a repository ``*.sh`` script runs (:func:`script_commands`, read by
the small shell parser below), each as ``(where, script module, argv)``; ``where`` is ``file:line``, followed for a
script's loops by the loop variables and the number of their value (``NLP/scripts/cpu_results_sst2_full.sh:23
STUDENT#1 SEED#2``).

A test helper, not a test module: loaded by its path with documented_inputs.tests_module (pytest runs with
``--import-mode=importlib``, so the tests folders are not importable by name).
"""
import argparse
import importlib
import os
import re
import shlex
from pathlib import Path

from kd.nlp.scripts.launch import load_nlp_config
from kd.rl.run_setup import load_rl_config
from kd.rl.scripts.evaluate import evaluate_settings
from kd.vision.pipeline import load_experiment_config
from kd.vision.scripts.method_table import load_table_config
from kd.vision.scripts.specialists import load_specialists_config

REPO = Path(__file__).resolve().parents[2]
READMES = ["README.md", "image-classification/README.md", "image-classification/RESEARCH.md", "NLP/README.md",
           "reinforcement-learning/README.md", "benchmarks/README.md"]
# python -m kd.<domain>.scripts.<name>, or torchrun [--its_options[=value] ...] -m kd.<domain>.scripts.<name>
COMMAND = re.compile(r"(?:python|torchrun(?:\s+--[\w-]+(?:=\S+|\s+(?!-)\S+)?)*)\s+-m\s+(kd\.\w+\.scripts\.\w+)")
ASSIGNMENT = re.compile(r"""(?:^|`)([A-Z][A-Z0-9_]*)=("[^"]*"|\$\([^)]*\)|\S+)""")
LOOP = re.compile(r"""for (\w+) in ("[^"]*"|\S+)""")
SHELL_END = {"|", ";", "&&", ">", "done", "do"}
PLACEHOLDER = "PLACEHOLDER"  # what a path the READMEs leave to the reader stands for (<stamp>, $T)
PLACEHOLDERS = {"S": "1"}  # "--seed S" in the tables of runs


def documented_commands() -> list[tuple[str, str, list[str]]]:
    """``(where, script module, argv)`` of every command in the READMEs, usage synopses (``[--flag X]``) left out. A
    command is ``python -m kd.<domain>.scripts.<name> ...`` or ``torchrun [its options] -m kd.<domain>.scripts.<name>
    ...`` (torchrun's own options, ``--nproc_per_node=8``, are not the script's); in a code block, a line continued by
    a backslash is read with its continuations."""
    found = []
    for readme in READMES:
        lines = (REPO / readme).read_text().splitlines()
        variables, in_block, number = {}, False, 0
        while number < len(lines):
            first, line = number, lines[number]
            number += 1
            if line.lstrip().startswith("```"):
                in_block = not in_block
                continue
            while in_block and line.rstrip().endswith("\\") and number < len(lines):
                line = line.rstrip()[:-1] + " " + lines[number].strip()
                number += 1
            for variable, value in ASSIGNMENT.findall(line):  # KD="$SST2 ...": earlier variables expanded
                variables[variable] = PLACEHOLDER if value.startswith("$(") else re.sub(  # T=$(ls ...): a path
                    r"\$(\w+)|\$\{(\w+)\}", lambda m: variables.get(m.group(1) or m.group(2), m.group(0)),
                    value.strip('"'))
            for variable, values in LOOP.findall(line):
                variables[variable] = values.strip('"')
            for match in COMMAND.finditer(line):
                text = line[match.end():]
                text = re.split(r"\s#", text)[0] if in_block else text.split("`")[0]
                argv = command_argv(text, variables)
                if argv is not None and not match.group(1).rsplit(".", 1)[1].isupper():  # scripts.X: a placeholder
                    found.append((f"{readme}:{first + 1}", match.group(1), argv))
    return found


def command_argv(text: str, variables: dict[str, str]) -> list[str] | None:
    """The argv of a command line: ``<placeholders>`` and shell variables filled in (a variable the README does not
    set, such as ``$T``, is a placeholder path), brace lists cut to their first item, a closing ``[key=value ...]``
    or ``...`` (the overrides any command takes) left out, cut at the end of the shell command; None for a usage
    synopsis (``[--flag X]``)."""
    text = re.sub(r"<[^<>]*>", PLACEHOLDER, text)  # <stamp>, <model.pt of the row's teacher>
    for _ in range(2):  # twice: a variable's value may name another ($KD holds "teacher.checkpoint=$T")
        text = re.sub(r"\$(\w+)|\$\{(\w+)\}", lambda m: variables.get(m.group(1) or m.group(2), PLACEHOLDER), text)
    text = re.sub(r"\s(\[key=value \.\.\.\]|\.\.\.)\s*$", "", text)
    argv = []
    for token in shlex.split(text):
        if token in SHELL_END:
            break
        if token.startswith("["):
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


def _vision_experiment(name: str):
    """The vision script ``name``'s config loader: load_experiment_config with the script's default preset, if any
    (quickstart's, used without ``--config``)."""
    return lambda args: load_experiment_config(args, getattr(importlib.import_module(name), "DEFAULT_PRESET", None))


def _table(args) -> dict:
    return load_table_config(args)[0]  # the config; the rows are checked against their methods as it loads


# How each documented script that reads a config loads it, as the script does before it reads any data: script module
# -> loader(parsed args) -> the resolved config (RL evaluate reads no config but its ``evaluate.*`` settings: those).
# A script not listed reads no config.
CONFIG_LOADERS = {
    **{f"kd.vision.scripts.{script}": _vision_experiment(f"kd.vision.scripts.{script}")
       for script in ("train_teacher", "distill", "compare", "quickstart", "evaluate")},
    "kd.vision.scripts.method_table": _table, "kd.vision.scripts.lr_sweep": _table,
    "kd.vision.scripts.specialists": load_specialists_config,
    "kd.nlp.scripts.train_teacher": load_nlp_config, "kd.nlp.scripts.distill": load_nlp_config,
    "kd.nlp.scripts.evaluate": load_nlp_config,
    "kd.rl.scripts.train_teacher": load_rl_config, "kd.rl.scripts.distill": load_rl_config,
    "kd.rl.scripts.evaluate": evaluate_settings,
}
