"""Which keys of the ``student:`` section make the student, by the way it is built, for the tasks whose student is
built one of three ways (language models, translation): a pretrained ``student.name`` reads its name alone; else a
pretrained teacher's student is its config with the changes ``student.config`` (and ``student.init``), a from-scratch
teacher's a model of the task's size keys (and ``student.init``). A key the way chosen does not read was ignored
without a word (``teacher.name=gpt2 student.n_layer=6`` built a full-depth student); :func:`check_student_keys`
refuses it in one line unless it holds its default in NLP/configs/default.yaml (a preset lists every key at its
default: only what the user set is refused, as :func:`kd.common.utils.registry.section_options` does for data sets).
"""
from __future__ import annotations

from typing import Sequence

from kd.common.utils.errors import ConfigError
from kd.nlp.defaults import task_section


def shown(value) -> str:
    """``value`` as an override writes it (``{n_layer: 6}``, ``teacher``, ``null``), for a message."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {shown(item)}" for key, item in value.items()) + "}"
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return str(value)


def check_student_keys(s: dict, task: str, size_keys: Sequence[str], pretrained_teacher: bool,
                       config_example: str) -> None:
    """Refuse in one line a key of the student section ``s`` of ``task`` (its default.yaml section) that the way its
    model is built does not read: by ``student.name``, else by the teacher's kind (``pretrained_teacher``; a
    from-scratch one reads ``size_keys``), naming what that way takes and what to do instead (``config_example``: a
    ``student.config`` of the task's usual pretrained teacher)."""
    defaults = task_section(task)["student"]
    routes = {"pretrained student": ("name",), "pretrained teacher": ("config", "init"),
              "from-scratch teacher": (*size_keys, "init")}
    instead = {"pretrained student": "set student.name=null to build the student from the teacher instead",
               "pretrained teacher": f"give sizes as changes of the teacher's config, in its names ({config_example})",
               "from-scratch teacher": "give sizes as " + ", ".join(f"student.{k}" for k in size_keys)}
    route = ("pretrained student" if s.get("name") else
             "pretrained teacher" if pretrained_teacher else "from-scratch teacher")
    for key in dict.fromkeys(key for keys in routes.values() for key in keys):
        value = s.get(key, defaults[key])
        if key == "config":
            value = value or {}  # null is no change, as the tasks read it
        if key in routes[route] or value == defaults[key]:
            continue
        way = f"student.name={s['name']} (a pretrained student, used as it is)" if s.get("name") else f"a {route}"
        takes = ", ".join(f"student.{k}" for k in routes[route])
        raise ConfigError(f"student.{key}={shown(value)} is not read with {way}: it takes {takes}; drop it, or "
                          f"{instead[route]}")
