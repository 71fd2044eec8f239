"""Decoding for the seq2seq models: batched beam search (greedy with ``beam_size=1``)."""
from kd.nlp.generation.beam_search import beam_search

__all__ = ["beam_search"]
