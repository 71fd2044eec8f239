"""The BiLSTM student of Tang et al. 2019, "Distilling Task-Specific Knowledge from BERT into Simple Neural Networks".

Word embeddings -> one bidirectional LSTM -> the last forward and first backward states concatenated ->
ReLU MLP -> logits. It has its OWN word-level vocabulary (:class:`kd.nlp.data.WordTokenizer`), so it can
only be distilled through the logits (soft-target KL, logit MSE -- Tang et al. use logit MSE); losses that
compare token positions (hidden states, attention maps, cosine embedding) raise a :class:`KDError`.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from transformers.modeling_outputs import SequenceClassifierOutput


class BiLSTMClassifier(nn.Module):
    uses_own_vocabulary = True

    def __init__(self, vocab_size: int, num_labels: int, embed_dim: int = 300, hidden_size: int = 150,
                 mlp_size: int = 200, dropout: float = 0.1, pad_id: int = 0):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.lstm = nn.LSTM(embed_dim, hidden_size, batch_first=True, bidirectional=True)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * hidden_size, mlp_size), nn.ReLU(),
                                  nn.Dropout(dropout), nn.Linear(mlp_size, num_labels))

    def forward(self, input_ids: Tensor, attention_mask: Tensor, **_) -> SequenceClassifierOutput:
        lengths = attention_mask.sum(1).clamp_min(1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(self.embed(input_ids), lengths, batch_first=True,
                                                   enforce_sorted=False)
        _, (h_n, _) = self.lstm(packed)  # h_n: (2, B, H) -- forward's last state, backward's first
        return SequenceClassifierOutput(logits=self.head(torch.cat([h_n[0], h_n[1]], dim=-1)))
