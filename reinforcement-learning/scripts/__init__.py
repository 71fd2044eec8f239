"""Command-line scripts: ``python -m kd.rl.scripts.{train_teacher,distill,evaluate}``."""
