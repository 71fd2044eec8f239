"""kd.nlp: text classification, translation and language-model distillation."""
