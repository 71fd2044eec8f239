"""Command-line entry points: train_teacher, distill, evaluate (python -m kd.nlp.scripts.<name>)."""
