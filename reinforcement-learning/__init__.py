"""kd.rl: policy distillation on gymnasium environments."""
