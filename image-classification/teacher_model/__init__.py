"""Teacher architectures: a plain CNN, CIFAR ResNets (RepDistiller), Wide ResNets, a configurable ResNet."""
from kd.vision.teacher_model import cnn, resnet, wide_resnet  # noqa: F401  (registers the models)
