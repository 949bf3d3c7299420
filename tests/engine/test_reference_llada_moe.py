"""CanvasEdit's fill against LLaDA-MoE's model-card ``generate()`` on a real-layout LLaDA-MoE checkpoint.

The model card's sampler is LLaDA's ``generate()`` with ``mask_id=156895``; ``llada_generate`` below
restates it at temperature 0 with low-confidence remasking (as tests/engine/test_reference_llada.py
does for LLaDA-8B): canvas = prompt + masks, blocks of ``block_length``, a block's masks spread evenly
over its steps with the remainder first, one forward pass over the whole canvas per step, x0 =
argmax, confidence = softmax over every row of the head at x0, −inf past the block, top-k commit.
The experts, the router and the mask id are the ones under test.
"""

import pytest
import torch

from canvasedit.engine import Hole, SamplerParams, fill
from canvasedit.engine.backends.native import NativeBackend
from tests.families import make_llada_moe

MASK = 156895


# Triton's CPU interpreter takes seconds per 100k-wide row: these tests use the PyTorch reference
# (the kernel itself is checked against it in tests/kernels).
pytestmark = pytest.mark.usefixtures("reference_kernels")


@pytest.fixture(scope="module")
def moe(tmp_path_factory):
    return NativeBackend.load(make_llada_moe(tmp_path_factory.mktemp("llada-moe") / "model"), device="cpu")


def transfer_counts(n_masked: int, steps: int) -> list[int]:
    base, remainder = divmod(n_masked, steps)
    return [base + (1 if i < remainder else 0) for i in range(steps)]


@torch.no_grad()
def llada_generate(model, prompt: torch.Tensor, steps: int, gen_length: int, block_length: int):
    x = torch.cat([prompt, torch.full((gen_length,), MASK, dtype=torch.long)])[None]
    P = len(prompt)
    blocks = gen_length // block_length
    assert gen_length % block_length == 0 and steps % blocks == 0
    history = []
    for b in range(blocks):
        end = P + (b + 1) * block_length
        for k in transfer_counts(int((x[0, P + b * block_length : end] == MASK).sum()), steps // blocks):
            mask_index = x == MASK
            logits = model(x)
            x0 = logits.argmax(-1)
            p = logits.softmax(-1).gather(-1, x0[..., None]).squeeze(-1)
            x0 = torch.where(mask_index, x0, x)
            conf = torch.where(mask_index, p, torch.tensor(float("-inf")))
            conf[:, end:] = float("-inf")
            chosen = torch.topk(conf[0], k).indices
            x[0, chosen] = x0[0, chosen]
            history.append(sorted((chosen - P).tolist()))
    return x[0, P:], history


SETTINGS = [  # (hole length, steps, block length); block length 0 = the hole as one block
    (32, 32, 32),  # the recipe: blocks of 32, one token per step (the card's gen 128 / steps 128 / block 32)
    (16, 8, 8),
    (24, 12, 8),
    (16, 4, 0),
]


@pytest.mark.parametrize("gen_length, steps, block_length", SETTINGS)
@pytest.mark.parametrize("prompt", ["def fibonacci(n):\n    ", "The quick brown fox jumps over the lazy dog. "],
                         ids=["code", "prose"])
def test_fill_equals_the_model_cards_generate(moe, prompt, gen_length, steps, block_length):
    params = SamplerParams.layered(moe.recipe, {"steps": steps, "block_length": block_length})
    run = fill(prompt, [Hole(len(prompt), len(prompt), gen_length)], moe, params)
    events = list(run)
    span = run.canvas.spans[0]
    tokens, history = llada_generate(moe.model, run.canvas.ids[: span.start], steps, gen_length,
                                     block_length or gen_length)
    assert not moe.banned[tokens].any(), "the reference chose a banned row: the fixture's head rows are too large"
    assert [sorted(c.offset for c in e.committed) for e in events] == [h for h in history if h]
    filled = [0] * span.length
    for e in events:
        for c in e.committed:
            filled[c.offset] = c.token
    assert filled == tokens.tolist()
