"""NLP evaluation run alone or under ``torchrun`` (gloo, CPU); writes what it computed to ``OUT/rank<r>.pt``.

Untrained, seeded models (the point is where the work happens, not the scores): a classifier's logits
through the bucketed, sharded dev loader (:func:`kd.nlp.tasks.classification.make_loader` + ``predict``),
a seq2seq model's validation perplexity (sharded sums) and its beam-search outputs (sharded batches).
"""
import sys
from pathlib import Path

import torch

from kd.common.engine import loader_perplexity
from kd.common.utils import distributed
from kd.nlp.data import WordTokenizer
from kd.nlp.student_model import BiLSTMClassifier
from kd.nlp.tasks import classification, translation
from kd.nlp.teacher_model import TransformerSeq2Seq

WORDS = "a an the dog cat bird runs sits flies over under near red blue green small big".split()


def sentences(n: int, seed: int) -> list[str]:
    g = torch.Generator().manual_seed(seed)
    return [" ".join(WORDS[i] for i in torch.randint(0, len(WORDS), (int(2 + k),), generator=g))
            for k in torch.randint(0, 9, (n,), generator=g)]


def main(out: Path) -> None:
    ctx = distributed.init_distributed("cpu")
    torch.manual_seed(0)
    texts = sentences(37, seed=1)  # 37: the ranks get uneven numbers of batches and examples
    tok = WordTokenizer.build(texts, min_freq=1)
    cfg = {"seed": 0, "data": {"max_length": 16}}
    classifier = BiLSTMClassifier(len(tok), num_labels=3, embed_dim=8, hidden_size=8, mlp_size=8)
    loader = classification.make_loader(texts, [i % 3 for i in range(len(texts))], {"student": tok}, cfg, 4, False)
    logits, labels = classification.logits_on(classifier, loader, ctx.device, "student")

    model = TransformerSeq2Seq(len(tok), len(tok), d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                               dim_feedforward=32, dropout=0.0, max_length=16, pad_id=tok.pad_token_id)
    items = translation.encode_pairs(list(zip(texts, sentences(37, seed=2))), tok, tok, 16)
    ppl = loader_perplexity(model, translation.make_loader(items, tok, 4, False, 0), ctx.device,
                            translation.batch_nll)
    hyps = translation.translate(model, items, tok, ctx.device, beam_size=2, batch_size=4)
    torch.save({"world_size": ctx.world_size, "logits": logits, "labels": labels, "ppl": ppl, "hyps": hyps},
               out / f"rank{ctx.rank}.pt")
    distributed.close_distributed()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
