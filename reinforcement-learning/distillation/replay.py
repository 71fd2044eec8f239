"""A FIFO memory of visited states and the teacher's outputs on them.

Rusu et al. (2015) keep the last N states with the teacher's outputs and train the student on
minibatches drawn uniformly from that memory; with student-driven collection the memory holds the
student's recent states, labelled by the teacher when they were visited.
"""
from __future__ import annotations

import torch
from torch import Tensor

from kd.rl.teacher_model.networks import PolicyOutput

TARGET_FIELDS = ("logits", "mean", "log_std")


class TeacherLabelledReplay:
    def __init__(self, capacity: int):
        self.capacity = capacity
        self.storage: dict[str, Tensor] = {}
        self.kind = ""
        self.size = 0
        self.cursor = 0

    def add(self, obs: Tensor, teacher: PolicyOutput) -> None:
        rows = {"obs": obs, **{f: getattr(teacher, f) for f in TARGET_FIELDS if getattr(teacher, f) is not None}}
        if not self.storage:
            self.kind = teacher.kind
            self.storage = {k: torch.zeros((self.capacity, *v.shape[1:]), dtype=v.dtype, device=v.device)
                            for k, v in rows.items()}
        n = obs.shape[0]
        idx = (self.cursor + torch.arange(n)) % self.capacity
        for key, value in rows.items():
            self.storage[key][idx.to(value.device)] = value.detach()
        self.cursor = (self.cursor + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> tuple[Tensor, PolicyOutput]:
        """``batch_size`` rows drawn uniformly with replacement: (observations, teacher outputs)."""
        idx = torch.randint(0, self.size, (batch_size,), generator=generator)
        rows = {k: v[idx.to(v.device)] for k, v in self.storage.items()}
        obs = rows.pop("obs")
        return obs, PolicyOutput(self.kind, **rows)
