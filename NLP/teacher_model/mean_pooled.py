"""A sequence classifier that reads the mean of an encoder's token states (``teacher.pooling=mean``).

Sentence encoders such as all-MiniLM-L6-v2 (the packaged teacher) were trained with mean pooling (Reimers &
Gurevych 2019, "Sentence-BERT: Sentence Embeddings using Siamese BERT-Networks", sec. 3; the model folder's
``1_Pooling/config.json`` says ``pooling_mode_mean_tokens: true``), so their BERT pooler ([CLS] -> dense -> tanh, what
``AutoModelForSequenceClassification`` classifies from) was never trained for them. This head classifies from the
representation the encoder was trained to produce, with the sentence-transformers formula over the real tokens:

    u = sum_t m_t h_t / max(sum_t m_t, 1e-9)        h_t: the last hidden state of token t, m_t its attention_mask
    logits = W dropout(u) + b

the dropout being the config's classifier dropout (else its ``hidden_dropout_prob``), as the HF heads use, and W
initialised as they initialise theirs (normal, std ``initializer_range``; b = 0). Padding tokens have m_t = 0, so
they change nothing. It is a drop-in for the HF classifier: the same call (``input_ids``, ``attention_mask``,
``token_type_ids``, ``output_hidden_states``, ``output_attentions``), a ``SequenceClassifierOutput`` with
``logits``, ``hidden_states`` and ``attentions`` (the encoder's), ``config`` (the encoder's) and ``base_model`` (the
encoder: embeddings and layers, as DistilBERT-style initialisation reads them).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


def mean_pool(hidden: Tensor, attention_mask: Tensor) -> Tensor:
    """(B, L, H) token states, (B, L) mask -> (B, H): their mean over the tokens whose mask is 1 (sentence-transformers:
    sum(h * m) / clamp(sum(m), min=1e-9))."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


def classifier_dropout(config) -> float:
    """The dropout the HF sequence-classification heads put before their linear layer: the config's classifier
    dropout (BERT ``classifier_dropout``, DistilBERT ``seq_classif_dropout``), else its ``hidden_dropout_prob``."""
    for key in ("classifier_dropout", "seq_classif_dropout", "hidden_dropout_prob"):
        value = getattr(config, key, None)
        if value is not None:
            return float(value)
    return 0.1


class MeanPooledClassifier(nn.Module):
    """``encoder`` (an ``AutoModel``) -> :func:`mean_pool` of its last hidden states -> dropout -> Linear(hidden,
    num_labels) (see the module docstring)."""

    def __init__(self, encoder: nn.Module, num_labels: int):
        super().__init__()
        self.encoder = encoder
        self.config = encoder.config
        self.config.num_labels = num_labels
        self.num_labels = num_labels
        self.dropout = nn.Dropout(classifier_dropout(self.config))
        self.classifier = nn.Linear(self.config.hidden_size, num_labels)
        nn.init.normal_(self.classifier.weight, std=getattr(self.config, "initializer_range", 0.02))
        nn.init.zeros_(self.classifier.bias)

    @property
    def base_model(self) -> nn.Module:
        """The encoder (as ``PreTrainedModel.base_model`` is for the HF heads)."""
        return self.encoder

    def forward(self, input_ids: Tensor | None = None, attention_mask: Tensor | None = None,
                token_type_ids: Tensor | None = None, position_ids: Tensor | None = None,
                inputs_embeds: Tensor | None = None, output_hidden_states: bool | None = None,
                output_attentions: bool | None = None):
        from transformers.modeling_outputs import SequenceClassifierOutput

        given = {"input_ids": input_ids, "token_type_ids": token_type_ids, "position_ids": position_ids,
                 "inputs_embeds": inputs_embeds, "output_hidden_states": output_hidden_states,
                 "output_attentions": output_attentions}
        if attention_mask is None:  # every token is real
            reference = input_ids if input_ids is not None else inputs_embeds[..., 0]
            attention_mask = torch.ones(reference.shape[:2], dtype=torch.long, device=reference.device)
        out = self.encoder(attention_mask=attention_mask, return_dict=True,
                           **{k: v for k, v in given.items() if v is not None})
        logits = self.classifier(self.dropout(mean_pool(out.last_hidden_state, attention_mask)))
        return SequenceClassifierOutput(logits=logits, hidden_states=out.hidden_states, attentions=out.attentions)
