"""Batched beam search for :class:`kd.nlp.teacher_model.TransformerSeq2Seq` (``beam_size=1`` is greedy).

Each step expands every live hypothesis by every token and keeps the ``k`` best of the ``k * V``
candidates per sentence by summed log-probability; a hypothesis that emitted ``<eos>`` is frozen (it can
only be extended by ``<pad>`` at no cost). The winner per sentence maximises the length-normalised score
score / |y|^alpha (Wu et al. 2016 use a smoothed variant; alpha = 0 keeps the raw sum). Decoding is
incremental (``model.decode_step``: per layer, the memory's keys and values projected once and the self-attention
keys and values of the prefix, which follow each hypothesis' parent). Used for evaluation (BLEU) and for
sequence-level KD (Kim & Rush 2016): the teacher's beam outputs become the student's training targets.
"""
from __future__ import annotations

import torch
from torch import Tensor


@torch.inference_mode()
def beam_search(model, src: Tensor, src_mask: Tensor, bos_id: int, eos_id: int, pad_id: int, beam_size: int = 4,
                max_new_tokens: int | None = None, length_alpha: float = 1.0) -> list[list[int]]:
    """Return, for each source row, the best target id list (without ``<bos>``, cut before ``<eos>``)."""
    batch, k = src.shape[0], beam_size
    memory = model.encode(src, src_mask).repeat_interleave(k, 0)
    mem_mask = src_mask.repeat_interleave(k, 0)
    limit = max_new_tokens or min(model.max_length, int(src_mask.sum(1).max().item() * 1.5) + 10)
    seqs = torch.full((batch * k, 1), bos_id, dtype=torch.long, device=src.device)
    state = model.start_decoding(memory, mem_mask)
    scores = torch.full((batch, k), float("-inf"), device=src.device)
    scores[:, 0] = 0.0  # all beams start identical: expand only the first
    finished = torch.zeros(batch * k, dtype=torch.bool, device=src.device)
    lengths = torch.zeros(batch * k, device=src.device)
    for step in range(limit):
        logp = model.decode_step(seqs[:, -1], step, state).float().log_softmax(-1)  # (B*k, V)
        vocab = logp.shape[-1]
        logp[:, [bos_id, pad_id]] = float("-inf")  # never generated; <pad> only extends finished beams
        logp[finished] = float("-inf")
        logp[finished, pad_id] = 0.0
        candidates = (scores.reshape(-1, 1) + logp).reshape(batch, k * vocab)
        scores, flat = candidates.topk(k, dim=-1)
        parent = (torch.arange(batch, device=src.device).unsqueeze(1) * k + flat // vocab).reshape(-1)
        token = (flat % vocab).reshape(-1)
        seqs = torch.cat([seqs[parent], token.unsqueeze(1)], dim=1)
        model.reorder_decoding(state, parent)
        lengths = lengths[parent] + (~finished[parent]).float()
        finished = finished[parent] | (token == eos_id)
        if finished.all():
            break
    normalised = scores / lengths.reshape(batch, k).clamp_min(1.0).pow(length_alpha)
    best = (torch.arange(batch, device=src.device) * k + normalised.argmax(-1)).tolist()
    return cut_at_end(seqs[best, 1:].tolist(), eos_id, pad_id)


def cut_at_end(rows: list[list[int]], eos_id: int, pad_id: int) -> list[list[int]]:
    """Each generated row up to (not including) its first ``eos`` or ``pad`` token."""
    out = []
    for row in rows:
        ids = []
        for token in row:
            if token in (eos_id, pad_id):
                break
            ids.append(token)
        out.append(ids)
    return out
