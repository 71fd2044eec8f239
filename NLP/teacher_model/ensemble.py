"""Several fine-tuned classifiers as one teacher: the mean of their logits.

Hinton et al. (2015), "Distilling the Knowledge in a Neural Network" (sec. 1 and 3), distil an ensemble: the
knowledge of M models, each trained from its own seed, carried by one small model. With member logits z_1 .. z_M
the ensemble teacher's logits and soft targets are

    z = (1 / M) sum_m z_m,        p_t^T = softmax(z / T),

the renormalised geometric mean of the members' distributions at every temperature T. (The arithmetic mean of their
probabilities, the usual ensemble prediction, is the softmax of no single logit vector at every T, so cached logits
could not stand for it; at T = 1 the two rarely disagree on the argmax.) ``teacher.checkpoint=[A.pt,B.pt,C.pt]``
builds one (:func:`kd.nlp.tasks.classification.load_teacher`), whose members read one tokenizer and share one head.
It gives logits only: the methods that read the teacher's hidden states or attention maps (tinybert, distilbert)
and ``student.init=teacher`` need one teacher.
"""
from __future__ import annotations

import torch
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput


class LogitEnsemble(nn.Module):
    """``members`` (two or more sequence classifiers on one tokenizer) answering as one: the mean of their logits."""

    def __init__(self, members: list[nn.Module]):
        super().__init__()
        if len(members) < 2:
            raise ValueError(f"an ensemble needs two or more members, got {len(members)}")
        self.members = nn.ModuleList(members)

    @property
    def config(self):
        """The first member's model config (what a student on the members' tokenizer reads from its teacher:
        ``max_position_embeddings``)."""
        return self.members[0].config

    def forward(self, **inputs) -> SequenceClassifierOutput:
        return SequenceClassifierOutput(logits=torch.stack([m(**inputs).logits for m in self.members]).mean(0))
