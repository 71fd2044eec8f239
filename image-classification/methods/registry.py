"""METHODS: distillation methods by name. Every method is built as
``METHODS.build(name, teacher=..., student=..., num_classes=..., image_shape=..., **settings)``, ``settings``
being its own config section ``methods.<name>`` (image-classification/configs/default.yaml lists every
constructor argument there), and is a :class:`kd.common.engine.DistillationMethod`
(``forward(student, teacher, batch) -> {term: loss}``)."""
from kd.common.utils.registry import Registry

METHODS = Registry("method")
