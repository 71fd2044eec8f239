"""Teacher architectures: a plain CNN, CIFAR ResNets (RepDistiller), Wide ResNets, a configurable ResNet,
and the fast-training airbench net."""
from kd.vision.teacher_model import airbench, cnn, resnet, wide_resnet  # noqa: F401  (registers the models)
