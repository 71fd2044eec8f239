"""Stand-ins for what the documented commands read, so that tests/common/test_readme_commands.py can run each one
with ``--dry-run``, offline: tiny data sets in the on-disk formats the loaders read (written by the data tests' own
writers), and checkpoints and run folders built from the command's own resolved config by the repository's model
builders and checkpoint writers (random weights: nothing is trained).

The paths in a documented command are placeholders (``data.path=/path/to/sst2``, ``teacher.checkpoint=$T``,
``runs/...-<stamp>``). :meth:`Inputs.command` replaces each by what the key or flag it is given to reads:

- ``data.path``, ``data.root``: a tiny copy of the config's ``data.name``: sst2 (GLUE's train.tsv and validation.tsv),
  trec (train.txt and test.txt, ``LABEL sentence`` lines), multi30k and multi30k_en (the gzipped
  {train,val,test_2016_flickr}.{de,en} files), imagefolder (class folders of PNGs), mnist (IDX files), cifar10 and
  cifar100 (the official pickles), imagenet (train/ and val/ of JPEGs);
- ``teacher.checkpoint``, ``teacher.init``: the teacher the config's ``teacher`` section describes, for that data or
  environment (a text classifier: ``teacher.name``, the packaged MiniLM, with a head for the data's labels);
- ``evaluate.checkpoint``: the config's student when the path names a distill run, else its teacher;
- a path through a run folder ``runs/<domain>-<data or env>-<script>[-s<seed>]-<stamp>/...`` (``--resume``, export's
  RUN_DIR, and vision's and RL's evaluate's ``evaluate.checkpoint=`` and ``teacher.checkpoint=``: those scripts read
  no model from the config): the same path in a run folder as that script leaves it (its config.yaml and its stages'
  checkpoints/model.pt), made from the config of the command :func:`run_command` names for it;
- the reports' ``--runs``: a folder holding one finished run of the domain.
A preset's path (``--config NLP/configs/sst2.yaml``) is made absolute: the READMEs' commands run from the
repository's root. Every other path (``--runs-dir``, ``--out``, ``distill.cache_dir``: relative) stays as it is: the
test runs the command in an empty folder and checks that it is still empty afterwards. Published weights a config names
(``torchvision:resnet34`` with ``weights: IMAGENET1K_V1``) are put, random, where torchvision keeps its downloads
under :attr:`Inputs.torch_home`, which the test makes ``TORCH_HOME``.

Each stand-in is made once per session and shared by the commands that read the same thing (:meth:`Inputs.made`'s
keys: the data set; the architecture with its arguments and the data or environment it is for).

A test helper, not a test module. It holds :func:`tests_module`, the one loader of the tests' helper modules by their
paths (pytest runs with ``--import-mode=importlib``, so the tests folders are not importable by name): the data tests'
writers, documented_commands.py, and for the test whatever it reads besides this module, which the test loads by hand.
"""
import importlib
import importlib.util
import json
import random
import re
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"
DATA_KEYS = ("data.path", "data.root")
CHECKPOINT_KEYS = ("teacher.checkpoint", "teacher.init", "evaluate.checkpoint")
RUN_FLAGS = ("--resume",)  # its value: a run folder
# The scripts whose checkpoint keys name models of other runs, not the config's (vision's and RL's evaluate): a value
# through a run folder is a path in a stand-in of that run folder.
RUN_CHECKPOINTS = ("kd.vision.scripts.evaluate", "kd.rl.scripts.evaluate")
PATH_FLAGS = ("--runs-dir", "--out", "--runs")
UNCHECKED_PATH_KEYS = ("distill.cache_dir",)  # relative, checked for writability only
SCRIPTS = "train_teacher|distill|compare|quickstart|method_table|specialists|lr_sweep|evaluate"
RUN_FOLDER = re.compile(rf"^(?P<domain>vision|nlp|rl)-(?P<data>.+?)-(?P<script>{SCRIPTS})(-s[^-/]*)?-[^/]+$")
# The presets whose runs a vision run folder's name (vision-<data.name>-...) stands for.
VISION_RUNS = {"digits": ["--config", "digits_cnn_mlp"],
               "imagenet": ["--config", "imagenet_resnet34_resnet18", "data.root=PLACEHOLDER"]}
# The stages (sub-folders with checkpoints/model.pt) a vision script leaves in its run folder, and the config section
# of each one's model (kd/vision/pipeline.py: Experiment.stage; compare's other student seeds add -seed<N> stages).
VISION_STAGES = {"train_teacher": {"teacher": "teacher"},
                 "distill": {"teacher": "teacher", "student_kd": "student"},
                 "compare": {"teacher": "teacher", "student_kd": "student", "student_alone": "student"}}
RL_PRESETS = REPO / "reinforcement-learning" / "configs"


def tests_module(relative: str):
    """The module ``tests/<relative>`` (``vision/test_vision_data.py``: its file writers), loaded by its path, once, as
    ``kd_tests_<relative, / as _>`` (``kd_tests_common_documented_commands``)."""
    name = "kd_tests_" + relative.removesuffix(".py").replace("/", "_")
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, TESTS / relative)
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


documented = tests_module("common/documented_commands.py")


def resolved_config(name: str, argv: list[str]) -> dict:
    """The config the script ``name`` runs with ``argv``, loaded as the script loads it
    (documented_commands.CONFIG_LOADERS)."""
    return documented.CONFIG_LOADERS[name](documented.own_parser(importlib.import_module(name)).parse_args(argv))


def evaluated_role(path: str) -> str:
    """Whose checkpoint ``evaluate.checkpoint=path`` is: a distill run's (the student) or a teacher's."""
    return "student" if "-distill-" in path else "teacher"


def names_run_folder(path: str) -> bool:
    """Whether ``path`` goes through a run folder ``<domain>-<data or env>-<script>[-s<seed>]-<stamp>``."""
    return any(RUN_FOLDER.match(part) for part in Path(path).parts)


def configuration(name: str, argv: list[str]) -> tuple:
    """What decides the checks a dry run of the command makes: the script, its flags, and its overrides (the last
    value of each key, in key order) with the seed left out (``seed=N``, ``--seed N``: the scripts' loops over seeds)
    and each path that a stand-in replaces, or that is only checked for writability, reduced to what it stands for.
    Commands of one configuration dry-run alike."""
    flags, overrides, tokens = [], {}, iter(argv)
    for token in tokens:
        key, eq, value = token.partition("=")
        if token == "--seed":
            next(tokens, None)
        elif token in PATH_FLAGS:
            flags += [token, "<path>"]
            next(tokens, None)
        elif token.startswith("-") or not eq:
            flags.append(token)
        elif name in RUN_CHECKPOINTS and key in CHECKPOINT_KEYS:
            overrides[key] = value  # the run folder it names decides the model
        elif key in DATA_KEYS + UNCHECKED_PATH_KEYS + ("teacher.checkpoint", "teacher.init"):
            overrides[key] = "<path>"
        elif key == "evaluate.checkpoint":
            overrides[key] = f"<{evaluated_role(value)}>"
        elif key != "seed":
            overrides[key] = value
    return (name, *flags, *(f"{key}={value}" for key, value in sorted(overrides.items())))


class Inputs:
    """The stand-ins of one test session, made in ``root`` when a command first needs them."""

    def __init__(self, root: Path):
        self.root = root
        self.torch_home = root / "torch_home"
        self.made: dict[tuple, object] = {}
        self.folders = 0

    def once(self, key: tuple, make):
        """``make(folder)`` (a new folder's path, not yet created) the first time ``key`` is asked for."""
        if key not in self.made:
            self.folders += 1
            self.made[key] = make(self.root / f"{self.folders:03d}")
        return self.made[key]

    # --------------------------------------------------------------------------------------------- commands
    def command(self, name: str, argv: list[str]) -> list[str]:
        """``argv`` of the script ``name`` with every placeholder path replaced by its stand-in."""
        domain, script = name.split(".")[1], name.rsplit(".", 1)[1]
        out, flag, through_runs = [], None, set()
        for position, token in enumerate(argv):
            key, eq, value = token.partition("=")
            if flag == "--config" and (REPO / token).is_file():  # a preset's path: from the repository's root
                token = str(REPO / token)
            elif flag == "--runs":
                token = str(self.finished_runs(domain))
            elif flag in RUN_FLAGS or (script == "export" and position == 0):
                token = self.through_run(token)
            elif name in RUN_CHECKPOINTS and eq and key in CHECKPOINT_KEYS and names_run_folder(value):
                token = f"{key}={self.through_run(value)}"
                through_runs.add(position)
            flag = token if token.startswith("--") else None
            out.append(token)

        def model_key(position: int, token: str) -> bool:
            return position not in through_runs and not token.startswith("-") and \
                token.partition("=")[0] in CHECKPOINT_KEYS

        if not any(t.partition("=")[0] in DATA_KEYS or model_key(i, t) for i, t in enumerate(out)
                   if not t.startswith("-")):
            return out
        config = resolved_config(name, out)
        out = [self.data(domain, config, t) if t.partition("=")[0] in DATA_KEYS else t for t in out]
        config = resolved_config(name, out)
        if domain == "vision":
            self.published_weights(config)
        return [self.checkpoint(domain, config, t) if model_key(i, t) else t for i, t in enumerate(out)]

    def through_run(self, path: str) -> str:
        """``path`` with its run folder (``runs/rl-cartpole-distill-s1-<stamp>``) replaced by a stand-in of it."""
        parts = Path(path).parts
        found = next((i for i, part in enumerate(parts) if RUN_FOLDER.match(part)), None)
        if found is None:
            raise LookupError(f"'{path}' names no run folder <domain>-<data>-<script>[-s<seed>]-<stamp>: give it a "
                              "stand-in in tests/common/documented_inputs.py")
        folder = self.run_folder(*RUN_FOLDER.match(parts[found]).group("domain", "data", "script"))
        return str(Path(folder, *parts[found + 1:]))

    # ------------------------------------------------------------------------------------------------- data
    def data(self, domain: str, config: dict, token: str) -> str:
        """``data.path=`` / ``data.root=`` a tiny copy of the config's data set."""
        key = token.partition("=")[0]
        name = config["data"]["name"]
        maker = getattr(self, f"_{domain}_{name}", None)
        if maker is None:
            raise LookupError(f"no stand-in for the {domain} data set '{name}' ({token}): add one to "
                              "tests/common/documented_inputs.py")
        return f"{key}={self.once(('data', domain, name), maker)}"

    @staticmethod
    def _vision_imagefolder(folder: Path) -> Path:
        return tests_module("vision/test_vision_data.py").write_image_folder(folder)

    @staticmethod
    def _vision_mnist(folder: Path) -> Path:
        return tests_module("vision/test_vision_data.py").write_tiny_mnist(folder, "MNIST")

    @staticmethod
    def _vision_cifar10(folder: Path) -> Path:  # the test skips torchvision's checksums of the real files
        return tests_module("vision/test_vision_data.py").write_tiny_cifar10(folder)

    @staticmethod
    def _vision_cifar100(folder: Path) -> Path:
        return tests_module("vision/test_vision_data.py").write_tiny_cifar100(folder)

    @staticmethod
    def _vision_imagenet(folder: Path) -> Path:
        return tests_module("vision/test_vision_torchvision_models.py").write_imagenet_folder(folder)

    @staticmethod
    def _sentences(n: int, seed: int) -> list[tuple[str, int]]:
        return tests_module("nlp/conftest.py").sentiment_sentences(n, random.Random(seed))

    def _nlp_sst2(self, folder: Path) -> Path:
        folder.mkdir(parents=True)
        write_table = tests_module("nlp/test_nlp_loaders.py").write_table
        write_table(folder / "train.tsv", self._sentences(40, 0), "sentence")
        write_table(folder / "validation.tsv", self._sentences(10, 1), "sentence")
        return folder

    def _nlp_trec(self, folder: Path) -> Path:  # TREC's six coarse classes, "LABEL sentence" lines
        folder.mkdir(parents=True)
        for name, n, seed in (("train.txt", 36, 0), ("test.txt", 12, 1)):
            lines = [f"{i % 6} {text} ?" for i, (text, _) in enumerate(self._sentences(n, seed))]
            (folder / name).write_text("\n".join(lines) + "\n")
        return folder

    @staticmethod
    def _nlp_multi30k(folder: Path) -> Path:
        folder.mkdir(parents=True)
        return tests_module("nlp/test_nlp_loaders.py").write_multi30k(folder)

    _nlp_multi30k_en = _nlp_multi30k  # the language model reads Multi30k's English side

    # ---------------------------------------------------------------------------------------- checkpoints
    def checkpoint(self, domain: str, config: dict, token: str) -> str:
        """``teacher.checkpoint=`` (``teacher.init=``, ``evaluate.checkpoint=``) a model the config describes."""
        key, _, value = token.partition("=")
        role = evaluated_role(value) if key == "evaluate.checkpoint" else "teacher"
        return f"{key}={getattr(self, f'_{domain}_model')(config, role)}"

    def _vision_model(self, config: dict, role: str, path: Path | None = None) -> Path:
        """The ``role`` section's model for the config's data, saved as a pipeline stage saves it (to ``path``, else
        to a folder of its own, shared by the configs that describe the same model)."""
        from kd.common.utils.checkpoint import MODEL_CHECKPOINT
        from kd.vision.checkpoints import data_record, save_vision_model
        from kd.vision.data import build_data
        from kd.vision.model_registry import image_size_arg, rebuild_model

        data = build_data(config["data"], seed=config["seed"])
        section, record = config[role], data_record(data)

        def save(path: Path) -> Path:
            shape = data.image_shape
            model = rebuild_model(section["arch"], num_classes=data.num_classes, in_channels=shape[0],
                                  image_size=image_size_arg(shape), **section["kwargs"])
            return save_vision_model(model, path, section["arch"], data.num_classes, shape, section["kwargs"],
                                     **record, data_config=config["data"])

        if path is not None:
            return save(path)
        key = ("vision model", section["arch"], _json(section["kwargs"]), _json(record))
        return self.once(key, lambda folder: save(folder / MODEL_CHECKPOINT))

    def _nlp_model(self, config: dict, role: str) -> Path:
        """The task's teacher (or a classification student), saved as train_teacher (distill) saves it."""
        from kd.common.utils.run_folder import RunFolder
        from kd.nlp.tasks import classification, language_model, translation

        task, teacher = config["task"], config["teacher"]
        if task == "classification":
            data = classification.load_data(config)
            key = ("nlp model", role, teacher["name"], config["data"]["name"], *data.label_names)
            if role == "student":
                key += (config["student"]["arch"], _json(config["student"]))
            return self.once(key, lambda folder: _classifier(config, data, role, folder))
        if role != "teacher" or teacher.get("name"):
            raise LookupError(f"no stand-in for a {task} {role} {teacher.get('name') or ''}: add one to "
                              "tests/common/documented_inputs.py")
        data_settings = {k: v for k, v in config["data"].items() if k not in DATA_KEYS}

        def make(folder: Path) -> Path:
            run = RunFolder(folder, tensorboard=False)
            d = config["data"]
            if task == "translation":
                splits = translation.load_pairs(config)
                source, target = translation.build_vocabularies(config, splits["train"])
                model, kwargs = translation.build_model(teacher, source, target, d["max_length"])
                return translation.save(model, source, target, kwargs, run, "teacher")
            sentences = language_model.load_sentences(config)["train"]
            tokenizer = language_model.build_tokenizer(d.get("tokenizer", "word"), sentences, d["min_freq"],
                                                       d.get("vocab_size"))
            model, kwargs = language_model.build_model(teacher, tokenizer, d["max_length"])
            return language_model.save(model, tokenizer, kwargs, run, "teacher")

        return self.once(("nlp model", task, _json({**teacher, "checkpoint": None}), _json(data_settings)), make)

    def _rl_model(self, config: dict, role: str) -> Path:
        """The teacher (or the student) policy the config describes for its environment."""
        from kd.rl.student_model import build_student
        from kd.rl.teacher_model.build import build_policy
        from kd.rl.teacher_model.checkpoint import save_policy

        env = {"name": config["env"]["name"], "kwargs": dict(config["env"].get("kwargs") or {})}
        teacher = {k: config["teacher"][k] for k in ("algo", "network", "arch")}

        def make(folder: Path) -> Path:
            policy = build_policy(teacher, env)
            algo = teacher["algo"]
            if role == "student":
                policy, algo = build_student(config["student"], policy, env), config["method"]["name"]
            return save_policy(policy, folder / "model.pt", env, algo=algo)

        student = config["student"] if role == "student" else None
        return self.once(("rl model", role, _json(env), _json(teacher), _json(student)), make)

    def published_weights(self, config: dict) -> None:
        """Random weights, where torchvision keeps a download, for each ``torchvision:<model>`` section of the config
        that names published ones (and is not replaced by a checkpoint)."""
        import torchvision

        from kd.vision.torchvision_models import published_weights, weights_file

        for role in ("teacher", "student"):
            arch, kwargs = config[role]["arch"], config[role]["kwargs"]
            if arch.startswith("torchvision:") and kwargs.get("weights") and not config[role].get("checkpoint"):
                name = arch.partition(":")[2]

                def make(_: Path, name=name, weights=kwargs["weights"]) -> Path:
                    path = self.torch_home / "hub" / "checkpoints" / weights_file(published_weights(name, weights)).name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    torch.save(getattr(torchvision.models, name)().state_dict(), path)
                    return path

                self.once(("published weights", name, str(kwargs["weights"])), make)

    # ---------------------------------------------------------------------------------------- run folders
    def run_folder(self, domain: str, data: str, script: str) -> Path:
        """A run folder as ``python -m kd.<domain>.scripts.<script>`` leaves it for the data set (vision) or the
        environment (rl) ``data``: config.yaml and its checkpoints."""
        from kd.common.utils.checkpoint import MODEL_CHECKPOINT
        from kd.common.utils.run_folder import RunFolder, run_name

        name, argv = run_command(domain, data, script)
        argv = self.command(name, argv)
        config = resolved_config(name, argv)

        def make(folder: Path) -> Path:
            run = RunFolder(folder / f"{run_name(domain, data, script, config['seed'])}-20260101-120000",
                            tensorboard=False)
            run.save_config(config)
            if domain == "vision":
                for stage, section in VISION_STAGES[script].items():
                    self._vision_model(config, section, RunFolder(run.path / stage, tensorboard=False).checkpoints /
                                       MODEL_CHECKPOINT)
            elif script in ("train_teacher", "distill"):
                role = "teacher" if script == "train_teacher" else "student"
                (run.checkpoints / MODEL_CHECKPOINT).write_bytes(self._rl_model(config, role).read_bytes())
            return run.path

        return self.once(("run folder", domain, data, script), make)

    def finished_runs(self, domain: str) -> Path:
        """A folder holding one finished run of the domain: what the reports (``--runs``) gather."""
        from kd.common.utils.run_folder import RunFolder

        def make(folder: Path) -> Path:
            if domain == "vision":  # a row of a method table
                table = folder / "vision-imagefolder-method_table-20260101-120000"
                run = RunFolder(table / "kd-seed0", tensorboard=False)
                run.log_final({"label": "kd", "method": "kd", "arch": "resnet8x4", "params": 1_233_540,
                               "test_acc": 50.0, "epochs": 1, "train_images": 12})
            elif domain == "nlp":
                name, argv = "kd.nlp.scripts.train_teacher", ["--config", "sst2", "data.path=PLACEHOLDER"]
                run = RunFolder(folder / "nlp-sst2-train_teacher-s0-20260101-120000", tensorboard=False)
                run.save_config(resolved_config(name, self.command(name, argv)))
                run.log_final({"model": "teacher (minilm)", "dev_acc": 90.0, "params": 22_713_986,
                               "stage": "train_teacher"})
            else:
                name = "kd.rl.scripts.train_teacher"
                run = RunFolder(folder / "rl-CartPole-v1-train_teacher-s1-20260101-120000", tensorboard=False)
                run.save_config(resolved_config(name, []))
                run.log_final({"teacher_return_mean": 500.0, "teacher_return_std": 0.0, "policy_parameters": 4_610})
            return folder

        return self.once(("finished runs", domain), make)


def run_command(domain: str, data: str, script: str) -> tuple[str, list[str]]:
    """The command whose run a run folder's name stands for: for vision the preset of :data:`VISION_RUNS`; for rl
    the preset named after the environment, else ``env.name=<env>`` (a <placeholder>: the defaults)."""
    name = f"kd.{domain}.scripts.{script}"
    if domain == "vision" and data in VISION_RUNS and script in VISION_STAGES:
        return name, VISION_RUNS[data]
    if domain == "rl":
        if (RL_PRESETS / f"{data}.yaml").is_file():
            return name, ["--config", data]
        return name, [] if data == documented.PLACEHOLDER else [f"env.name={data}"]
    raise LookupError(f"no stand-in for a {domain} {script} run on {data}: add one to VISION_RUNS in "
                      "tests/common/documented_inputs.py")


def _classifier(config: dict, data, role: str, folder: Path) -> Path:
    """A text classifier as train_teacher (the teacher) or distill (a student) saves it."""
    from kd.common.utils.checkpoint import MODEL_CHECKPOINT
    from kd.nlp.model_zoo import save_nlp_model
    from kd.nlp.student_model.classification_students import CLASSIFICATION_STUDENTS
    from kd.nlp.teacher_model import load_hf_classifier, load_hf_tokenizer
    from kd.nlp.tokenizer_spec import tokenizer_spec

    name, path = config["teacher"]["name"], folder / MODEL_CHECKPOINT
    teacher, tokenizer = load_hf_classifier(name, num_labels=data.num_labels), load_hf_tokenizer(name)
    labels = {"label_names": data.label_names, "data": config["data"]["name"]}
    if role == "teacher":
        return save_nlp_model(teacher, path, "hf_classifier", {"name": name, "num_labels": data.num_labels},
                              {"main": tokenizer_spec(tokenizer, name)}, **labels)
    arch = config["student"]["arch"]
    built = CLASSIFICATION_STUDENTS.get(arch).build(config["student"], data.num_labels, teacher, tokenizer, name,
                                                    data.train_texts)
    return save_nlp_model(built.model, path, arch, built.kwargs, {"main": built.tokenizer_spec}, **labels)


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)
