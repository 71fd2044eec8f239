"""Text metrics: corpus BLEU (through sacrebleu) and perplexity."""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str], tokenize: str = "13a") -> float:
    """Corpus BLEU-4 (Papineni et al. 2002) as computed by sacrebleu (Post 2018), on detokenised strings.

    One reference per hypothesis. ``tokenize`` is sacrebleu's tokeniser (``13a`` is WMT's default).
    """
    import sacrebleu

    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    return sacrebleu.corpus_bleu(list(hypotheses), [list(references)], tokenize=tokenize).score


@torch.no_grad()
def token_nll(logits: Tensor, targets: Tensor, mask: Tensor | None = None) -> tuple[float, int]:
    """Summed negative log-likelihood (nats) of ``targets`` (B, L) under ``logits`` (B, L, V) and the token count."""
    nll = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
    if mask is None:
        return nll.sum().item(), nll.numel()
    mask = mask.reshape(-1).to(nll.dtype)
    return (nll * mask).sum().item(), int(mask.sum().item())


def perplexity(total_nll: float, n_tokens: int) -> float:
    """PPL = exp(sum_t -log p(w_t | w_<t) / N): the exponentiated mean token negative log-likelihood."""
    return math.exp(total_nll / max(1, n_tokens))
