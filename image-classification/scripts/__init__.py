"""Vision scripts, run as ``python -m kd.vision.scripts.<name>``: train_teacher, distill, evaluate, compare,
quickstart."""
