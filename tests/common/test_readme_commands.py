"""Every command written in the READMEs and in the shell scripts still parses and configures: a documented command,
or one a script runs to make a README table, cannot silently rot.

Each ``python -m kd.<domain>.scripts.<name> ...`` in the READMEs (code blocks, with their shell variables and the
first value of their ``for`` loops, and inline commands) and each one a repository ``*.sh`` script runs (read by the
small shell parser of documented_commands.py, with every value of its ``for`` loops) is parsed by its script's own argument parser (so its
flags exist and its values have the right types), then, for the scripts that read a config, its config is
loaded and checked by the domain's loader exactly as the script does before it reads any data: the preset
exists, every override names a key (no renamed or mistyped one), and in vision the model and method names and
arguments exist, in RL the method name and its section's arguments, and no ``distill`` key that kickstarting would
not read. Data, checkpoints and run folders are not needed: the paths in the READMEs are placeholders, and so are
the ``$(...)`` results in the scripts. A kd command in a script that the parser cannot follow fails
``test_every_kd_command_of_the_scripts_is_parsed``; each script's share of commands is pinned from below by
``test_the_scripts_give_their_commands``.
(``--dry-run`` goes further, through the data and the checkpoints: tests/common/test_common_cli_help.py.)
"""
import importlib
import importlib.util
import sys
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


def helper(name: str):
    """The test helper module ``tests/common/<name>.py``, loaded by its path (the tests folders are not packages)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


documented = helper("documented_commands")


def vision(module):
    return lambda args: check_names(load_experiment_config(args, getattr(module, "DEFAULT_PRESET", None)))


def specialists(args):
    check_names(load_specialists_config(args))


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
            "kd.vision.scripts.specialists": specialists, "kd.nlp.scripts.train_teacher": nlp,
            "kd.nlp.scripts.distill": nlp, "kd.nlp.scripts.evaluate": nlp,
            "kd.rl.scripts.train_teacher": load_rl_config,
            "kd.rl.scripts.distill": rl_distill}.get(name)


README_COMMANDS = documented.documented_commands()
SCRIPT_COMMANDS, UNPARSED = documented.script_commands()
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
    load = configured(name)
    if load is not None and not getattr(args, "resume", None):
        load(args)
