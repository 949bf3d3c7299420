"""A mock backend with controlled logits, for testing the engine without a model.

Text is tokenized one character per token. ``logits`` favours, at every row, the token the test
put in ``targets`` for that canvas position, with a margin that grows with ``strength[pos]`` so
that the order in which positions are committed is known in advance.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from canvasedit.engine.canvas import CanvasLayout

VOCAB = ["<end>", "<mask>"] + list("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\n\t.,:()=+-_'\"")


class MockBackend:
    name = "mock"
    device = "cpu"
    model_name = "mock"
    mask_id = 1
    stop_ids = (0,)
    end_ids: tuple[int, ...] = ()
    layout = CanvasLayout()
    recipe: dict = {}

    def __init__(self, max_length: int = 512) -> None:
        self.max_length = max_length
        self.index = {c: i for i, c in enumerate(VOCAB)}
        self.targets: dict[int, int] = {}
        self.strength: dict[int, float] = {}
        self.calls: list[torch.Tensor] = []
        self.banned = torch.zeros(len(VOCAB), dtype=torch.bool)
        self.banned[self.mask_id] = True

    def encode(self, text: str) -> list[int]:
        return [self.index[c] for c in text]

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(VOCAB[i] if i > 1 else "" for i in ids)

    def token_text(self, token: int) -> str:
        return self.decode([token])

    def logits(self, ids: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        self.calls.append(ids.clone())
        B, T = ids.shape
        rows = torch.arange(T) if rows is None else rows
        out = torch.zeros(B, len(rows), len(VOCAB))
        for r, pos in enumerate(rows.tolist()):
            target = self.targets.get(pos, self.index["a"])
            out[:, r, target] = self.strength.get(pos, 2.0)
        return out
