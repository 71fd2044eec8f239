"""METHODS: distillation methods by name. Every method is built as
``METHODS.build(name, teacher=..., student=..., num_classes=..., image_shape=..., **settings)``, ``settings``
being its own config section ``methods.<name>`` (image-classification/configs/default.yaml lists every
constructor argument there), and is a :class:`kd.common.engine.DistillationMethod`
(``forward(student, teacher, batch) -> {term: loss}``). The sections are checked by
:mod:`kd.common.utils.method_sections`, as NLP's and RL's are."""
from kd.common.utils.registry import Registry

METHODS = Registry("image-classification method")
# How the config checks name these methods ("the image-classification methods are: ..."), and the arguments the
# pipeline gives every constructor (the rest come from its section methods.<name>).
WHAT = "image-classification"
SUPPLIED = ("teacher", "student", "num_classes", "image_shape")
