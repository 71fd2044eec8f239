"""kd.vision: image-classification distillation (teachers, students, data, methods, scripts)."""
