"""Student architectures: an MLP on flattened pixels, a small CNN, small ResNets."""
from kd.vision.student_model import mlp, small_cnn, small_resnet  # noqa: F401  (registers the models)
