"""Token-level knowledge distillation for causal LMs (Hinton et al. 2015's soft targets on every next-token
distribution, as DistilGPT2, Sanh et al. 2019, trains GPT-2's student):

L = (1 - alpha) mean_t -log q(w_{t+1} | w_<=t) + alpha T^2 mean_t KL(p(. | w_<=t) || q(. | w_<=t)),

over the non-padding next-token positions (terms ``ce`` and ``kd`` with weights ``1 - alpha`` and ``alpha``;
:func:`kd.common.losses.soft_target_kl`, T^2 included). ``alpha=0.5, temperature=1.0`` is the earlier
``distill.weights={ce: 0.5, kd: 0.5}`` (the README's row). It reads the teacher's logits on every batch, over one
vocabulary.
"""
from __future__ import annotations

from kd.nlp.methods.causal_lm import LM_METHODS, LMMethod


@LM_METHODS.register("kd")
class TokenKD(LMMethod):
    teacher_outputs = ("logits",)

    def __init__(self, alpha: float = 0.5, temperature: float = 1.0):
        super().__init__({"ce": 1.0 - alpha, "kd": alpha})
        self.temperature = temperature

    def forward(self, student, teacher, batch) -> dict:
        logits, targets, mask = self.student_view(student, batch)
        return {"ce": self.cross_entropy(logits, targets, mask), "kd": self.token_kl(logits, teacher, batch, mask)}
