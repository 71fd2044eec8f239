"""Every command written in the READMEs and in the shell scripts still parses, configures and passes its dry run: a
documented command, or one a script runs to make a README table, cannot silently rot.

The commands (documented_commands.py): each ``python -m kd.<domain>.scripts.<name> ...`` and each ``torchrun [its own
options] -m kd.<domain>.scripts.<name> ...`` in the READMEs (code blocks, with their shell variables and the first value
of their ``for`` loops, and inline commands) and each one a repository ``*.sh`` script runs (read by a small shell
parser, with every value of its ``for`` loops).

``test_a_documented_command_parses_and_configures``: each command is parsed by its script's own argument parser (so
its flags exist and its values have the right types), then, for the scripts that read a config, its config is loaded
(documented_commands.CONFIG_LOADERS) and checked (CONFIG_CHECKS) exactly as the script does before it reads any data:
the preset exists, every override names a key (no renamed or mistyped one), and in vision the model and method names
and arguments exist, in RL the method name and its section's arguments, no ``distill`` key or student training setting
that kickstarting would not read, and evaluate's ``evaluate.*`` keys.

``test_a_documented_command_passes_its_dry_run``: each command runs, in-process, with ``--dry-run``, which makes every
check of the config, the data and the checkpoints, prints the resolved config and exits 0 before anything is created
(kd.common.utils.cli.exit_if_dry_run). Its placeholder paths (``data.path=/path/to/sst2``, ``teacher.checkpoint=$T``,
``runs/...-<stamp>``, the scripts' ``$(...)``) are replaced by stand-ins (documented_inputs.py): tiny data sets in the
on-disk formats the loaders read, and checkpoints and run folders built from the command's own config by the
repository's model builders and checkpoint writers. Commands of one configuration (the same but for the seed, the
order of the overrides and the placeholder paths: documented_inputs.configuration) dry-run once. A command that cannot
dry-run offline (it downloads from the Hugging Face hub) is listed in OFFLINE_EXEMPT with the reason, and an entry
there that is no longer documented fails ``test_every_exemption_is_a_documented_command``.

A kd command in a script that the parser cannot follow fails ``test_every_kd_command_of_the_scripts_is_parsed``; each
script's share of commands is pinned from below by ``test_the_scripts_give_their_commands``.
"""
import importlib
import importlib.util
import shlex
import sys
from pathlib import Path

import pytest
import torch
import torchvision

from kd.common.utils.cli import DRY_RUN_HEADER, main_entry
from kd.common.utils.method_sections import check_method_sections
from kd.nlp.tasks import TASKS
from kd.rl.distillation.methods import METHODS, WHAT
from kd.rl.scripts.distill import refuse_policy_distillation_keys
from kd.vision.pipeline import check_names


# The helpers, loaded by their paths (the tests folders are not packages): documented_inputs.py holds the loader,
# tests_module, so it alone is loaded here by hand, under the name that loader gives it.
_spec = importlib.util.spec_from_file_location("kd_tests_common_documented_inputs",
                                               Path(__file__).with_name("documented_inputs.py"))
stand_ins = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stand_ins)
documented = stand_ins.tests_module("common/documented_commands.py")


def vision_names(config: dict, args) -> None:
    check_names(config)


def nlp_task(config: dict, args) -> None:
    TASKS.get(config["task"])


def rl_distill(config: dict, args) -> None:
    check_method_sections(config, METHODS, WHAT)
    refuse_policy_distillation_keys(config, args)


# What each script checks in its config (loaded by documented_commands.CONFIG_LOADERS, which makes the loaders' own
# checks) before it reads any data, by script module: vision's model and method names and arguments, NLP's task, RL
# distill's method and the keys kickstarting would not read.
CONFIG_CHECKS = {**{f"kd.vision.scripts.{script}": vision_names for script in
                    ("train_teacher", "distill", "compare", "quickstart", "evaluate", "specialists")},
                 "kd.nlp.scripts.train_teacher": nlp_task, "kd.nlp.scripts.distill": nlp_task,
                 "kd.nlp.scripts.evaluate": nlp_task, "kd.rl.scripts.distill": rl_distill}


README_COMMANDS = documented.documented_commands()
SCRIPT_COMMANDS, UNPARSED = documented.script_commands()
COMMANDS = README_COMMANDS + SCRIPT_COMMANDS
# The least each script gives, so that its coverage cannot vanish unnoticed: (kd commands, distill configurations,
# the seed aside).
SCRIPT_MINIMUM = {"NLP/scripts/cpu_results_sst2_full.sh": (65, 21), "NLP/scripts/cpu_results_multi30k_full.sh": (11, 3),
                  "NLP/scripts/cpu_results_classification.sh": (38, 12), "NLP/scripts/cpu_results_lm.sh": (3, 2),
                  "NLP/scripts/cpu_results_translation.sh": (4, 3)}


def test_the_readmes_hold_commands_of_every_domain():
    scripts = {module for _, module, _ in README_COMMANDS}
    assert len(README_COMMANDS) > 80 and {"kd.vision.scripts.method_table", "kd.nlp.scripts.distill",
                                          "kd.rl.scripts.distill"} <= scripts


def test_torchrun_commands_are_read_without_torchruns_own_options():
    line = "torchrun --nnodes=2 --nproc_per_node 8 --standalone -m kd.vision.scripts.distill --config x a=1 ..."
    match = documented.COMMAND.search(line)
    assert match.group(1) == "kd.vision.scripts.distill"
    assert documented.command_argv(line[match.end():], {}) == ["--config", "x", "a=1"]
    assert documented.COMMAND.search("torchrun --nproc_per_node=2 benchmarks/time_to_accuracy.py -m x") is None
    lines = (documented.REPO / "benchmarks" / "README.md").read_text().splitlines()
    assert any(lines[int(where.split(":")[1]) - 1].startswith("torchrun --nnodes=2") for where, _, _ in README_COMMANDS
               if where.startswith("benchmarks/README.md"))  # its -m on a continuation line


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
    documented.run_lines(script, documented.logical_lines(script), {}, "", found, unparsed)
    assert [argv for _, _, argv in found] == [["--config", "sst2", "x=1", f"seed={s}"] for s in "01"] + [
        ["y=2", "z=3", f"seed={s}"] for s in "01"] + [["--runs", documented.SCRIPT_PLACEHOLDER, "--out", "report"]]
    assert [where.split(":")[1] for where, _ in unparsed] == ["5", "11", "14"]  # the function, the unset variable, nohup


@pytest.mark.parametrize("where, name, argv", COMMANDS, ids=[f"{w} {n.rsplit('.', 1)[1]}" for w, n, _ in COMMANDS])
def test_a_documented_command_parses_and_configures(where, name, argv):
    module = importlib.import_module(name)
    parser = documented.own_parser(module)
    parser.exit = lambda status=0, message=None: pytest.fail(f"{where}: {message}")  # argparse errors end here
    args = parser.parse_args(argv)
    load = documented.CONFIG_LOADERS.get(name)
    if load is not None and not getattr(args, "resume", None):
        config = load(args)
        if name in CONFIG_CHECKS:
            CONFIG_CHECKS[name](config, args)


# ----------------------------------------------------------------------------------------------------- --dry-run
# The documented commands that cannot dry-run on an offline machine, by README and command (as collected), with why.
# An entry that matches no documented command fails test_every_exemption_is_a_documented_command.
HUB_DATA = "no data.path: the data set is downloaded from the Hugging Face hub"
GPT2 = "WikiText-103 and GPT-2 are downloaded from the Hugging Face hub"
OPUS = "Multi30k (no data.path) and opus-mt-de-en are downloaded from the Hugging Face hub"
SST2, LM, MT = "--config NLP/configs/sst2.yaml", "--config NLP/configs/lm.yaml", "--config NLP/configs/multi30k.yaml"
WIKITEXT = f"{LM} data.name=wikitext103 data.max_length=512"
OPUS_MT = f"{MT} data.max_length=128 evaluate.beam_size=5"
OFFLINE_EXEMPT = {
    ("NLP/README.md", f"train_teacher {SST2}"): HUB_DATA,
    ("NLP/README.md", f"distill {SST2} teacher.checkpoint=PLACEHOLDER method.name=supervised"): HUB_DATA,
    ("NLP/README.md", f"distill {SST2} teacher.checkpoint=PLACEHOLDER"): HUB_DATA,
    ("NLP/README.md", f"distill {SST2} teacher.checkpoint=PLACEHOLDER student.arch=bilstm student.lr=1.0e-3 "
                      "method.name=kd distill.augment.copies=20"): HUB_DATA,
    ("NLP/README.md", f"distill {SST2} teacher.checkpoint=PLACEHOLDER method.name=tinybert distill.mode=online"):
        HUB_DATA,
    ("NLP/README.md", "train_teacher --config NLP/configs/trec.yaml"): HUB_DATA,
    ("NLP/README.md", f"train_teacher {MT}"): HUB_DATA,
    ("NLP/README.md", f"train_teacher {LM}"): HUB_DATA,
    ("NLP/README.md", f"evaluate {WIKITEXT} teacher.name=gpt2"): GPT2,
    ("NLP/README.md", f"distill {WIKITEXT} teacher.name=gpt2 'student.config={{n_layer: 6}}' student.init=teacher "
                      "method.name=kd methods.kd.temperature=2.0 student.epochs=1 student.batch_size=16 "
                      "student.lr=2.5e-4 student.warmup=0.01"): GPT2,
    ("NLP/README.md", f"distill {WIKITEXT} teacher.name=gpt2 'student.config={{n_layer: 6}}' student.init=teacher "
                      "method.name=supervised student.epochs=1 student.batch_size=16 student.lr=2.5e-4"): GPT2,
    ("NLP/README.md", f"evaluate {WIKITEXT} evaluate.checkpoint=runs/nlp-lm-distill-s0-PLACEHOLDER/checkpoints/model"):
        "WikiText-103 is downloaded from the Hugging Face hub",
    ("NLP/README.md", f"evaluate {OPUS_MT} teacher.name=Helsinki-NLP/opus-mt-de-en"): OPUS,
    ("NLP/README.md", f"distill {OPUS_MT} teacher.name=Helsinki-NLP/opus-mt-de-en "
                      "'student.config={decoder_layers: 1}' student.init=teacher method.name=seq_word_kd "
                      "methods.seq_word_kd.beam_size=5 student.epochs=5 student.batch_size=64 student.lr=2.0e-4"): OPUS,
    ("NLP/README.md", f"train_teacher {SST2} teacher.name=bert-base-uncased teacher.lr=2.0e-5"):
        "SST-2 (no data.path) and bert-base-uncased are downloaded from the Hugging Face hub",
    ("NLP/README.md", f"distill {SST2} teacher.checkpoint=PLACEHOLDER student.num_layers=6 student.hidden_size=768 "
                      "student.num_heads=12 student.intermediate_size=3072 student.init=teacher"):
        HUB_DATA + " (and its teacher is bert-base-uncased fine-tuned on it)",
}


def exemption_key(where: str, name: str, argv: list[str]) -> tuple[str, str]:
    return where.split(":")[0], shlex.join([name.rsplit(".", 1)[1], *argv])


def dry_runs() -> list[tuple[str, str, list[str], list[str]]]:
    """``(where, script, argv, where else)`` for one command of each configuration (:func:`configuration`: commands
    that differ only in the seed or in the placeholder of a path dry-run alike) of the documented commands that can
    dry-run offline; ``where else``: the other commands of that configuration."""
    runs: dict[tuple, tuple] = {}
    for where, name, argv in COMMANDS:
        if exemption_key(where, name, argv) not in OFFLINE_EXEMPT:
            runs.setdefault(stand_ins.configuration(name, argv), (where, name, argv, []))[3].append(where)
    return [(where, name, argv, others[1:]) for where, name, argv, others in runs.values()]


DRY_RUNS = dry_runs()


def test_every_exemption_is_a_documented_command():
    documented_keys = {exemption_key(*command) for command in COMMANDS}
    assert not set(OFFLINE_EXEMPT) - documented_keys, "no longer documented: remove from OFFLINE_EXEMPT"


@pytest.fixture(scope="session")
def inputs(tmp_path_factory):
    """The stand-ins of the commands' placeholder paths (documented_inputs.py), made once for the session."""
    return stand_ins.Inputs(tmp_path_factory.mktemp("documented_inputs"))


@pytest.mark.parametrize("where, name, argv, others", DRY_RUNS,
                         ids=[f"{w} {n.rsplit('.', 1)[1]}" for w, n, _, _ in DRY_RUNS])
def test_a_documented_command_passes_its_dry_run(where, name, argv, others, inputs, tmp_path, monkeypatch, capsys):
    """The command, its placeholder paths replaced by stand-ins, with ``--dry-run``: every check of its config, data
    and checkpoints passes, it prints the resolved config and exits 0 having created nothing."""
    monkeypatch.chdir(tmp_path)  # relative paths (--runs-dir runs/nlp, distill.cache_dir=...) land here, if anywhere
    monkeypatch.setenv("TORCH_HOME", str(inputs.torch_home))  # published weights: random stand-ins
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "_check_integrity", lambda self: True)  # the tiny CIFAR pickles
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *a, **k: True)  # are not the real ones
    threads = torch.get_num_threads()
    try:
        command = inputs.command(name, argv)
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            main_entry(importlib.import_module(name).main, [*command, "--dry-run"])
    finally:
        torch.set_num_threads(threads)  # a config's threads: N would outlive the test
    out, err = capsys.readouterr()
    shown = f"{where} (also {', '.join(others) or 'nowhere else'}): python -m {name} {shlex.join(command)} --dry-run"
    assert exit_info.value.code == 0, f"{shown}\n{err.strip()}"
    assert DRY_RUN_HEADER in out and out.rstrip().endswith("nothing was created"), f"{shown}\n{out[-2000:]}"
    created = sorted(p.name for p in tmp_path.iterdir() if p.name != "MUJOCO_LOG.TXT")  # MuJoCo's warnings, not ours
    assert not created, f"{shown} created {created}"
