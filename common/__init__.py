"""kd.common: losses, metrics, the distillation engine and utilities shared by every domain."""
