"""Vision distillation methods, registered in METHODS (see methods/registry.py for the constructor contract).

Add a method: write ``methods/<name>.py`` with a :class:`DistillationMethod` subclass decorated by
``@METHODS.register("<name>")``, add one import line below, and list its constructor's arguments (after
``image_shape``) with their defaults and a comment under ``methods.<name>`` in configs/default.yaml.
"""
from kd.vision.methods.registry import METHODS
from kd.vision.methods._teacher import teacher_logits_for
from kd.vision.methods import supervised  # noqa: F401,E402
from kd.vision.methods import kd  # noqa: F401,E402
from kd.vision.methods import soft_label  # noqa: F401,E402
from kd.vision.methods import fitnet  # noqa: F401,E402
from kd.vision.methods import at  # noqa: F401,E402
from kd.vision.methods import sp  # noqa: F401,E402
from kd.vision.methods import dkd  # noqa: F401,E402
from kd.vision.methods import simkd  # noqa: F401,E402
from kd.vision.methods import specialists  # noqa: F401,E402

__all__ = ["METHODS", "teacher_logits_for"]
