"""Tiny random LLaDA checkpoints for the tests, in the real on-disk format (see ``canvasedit.models.synthetic``)."""

from __future__ import annotations

from pathlib import Path

from canvasedit.models.synthetic import write_random_llada

EOS, PAD, MASK = 0, 1, 2


def make_tiny_llada(folder: Path, seed: int = 0, shards: int = 1, tokenizer_from: Path | None = None, **overrides) -> Path:
    """A 2-layer, 64-wide LLaDA with a 320-token BPE (or the tokenizer of ``tokenizer_from``)."""
    return write_random_llada(folder, seed=seed, shards=shards, tokenizer_dir=tokenizer_from, **overrides)
