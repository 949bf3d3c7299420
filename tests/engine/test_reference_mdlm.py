"""CanvasEdit's fill against dllm's ``MDLMSampler`` on real-layout A2D (Qwen3 and Qwen2) conversions.

``mdlm_generate`` restates ``dllm/core/samplers/mdlm.py`` at temperature 0 with low-confidence
remasking: canvas = prompt + masks, blocks of ``block_size`` from the prompt's end, each block
``ceil(steps / blocks)`` steps, per-step counts from the linear α schedule
(``round(n · (1 − (1 − α(s)) / (1 − α(t))))``, zero counts dropped), one forward pass over the whole
canvas per step, no logit shift, confidence = softmax over the full head at the argmax, −inf past
the current block, top-k commit.
"""

import math

import pytest
import torch

from canvasedit.engine import Hole, SamplerParams, fill
from canvasedit.engine.backends.native import NativeBackend
from canvasedit.engine.schedule import Schedule, tokens_to_commit
from tests.families import make_a2d


# Triton's CPU interpreter takes seconds per 100k-wide row: these tests use the PyTorch reference
# (the kernel itself is checked against it in tests/kernels).
pytestmark = pytest.mark.usefixtures("reference_kernels")


@pytest.fixture(scope="module", params=["qwen3", "qwen2"])
def a2d(request, tmp_path_factory):
    folder = make_a2d(tmp_path_factory.mktemp("a2d") / request.param, qwen3=request.param == "qwen3")
    return NativeBackend.load(folder, device="cpu")


def linear_counts(mask_num: int, steps: int) -> list[int]:
    """``get_num_transfer_tokens`` with ``LinearAlphaScheduler`` (α(t) = 1 − t, evaluated in float32)."""
    out = []
    for t, s in zip(range(steps, 0, -1), range(steps - 1, -1, -1)):
        s_t, t_t = torch.tensor(s / steps, dtype=torch.float32), torch.tensor(t / steps, dtype=torch.float32)
        reverse_mask_prob = ((1 - (1 - s_t)) / (1 - (1 - t_t))).item()
        n = min(mask_num, round(mask_num * (1 - reverse_mask_prob)))
        mask_num -= n
        out.append(n)
        if mask_num == 0:
            break
    return [n for n in out if n > 0]


def test_mdlm_counts_are_rounded_not_split_evenly():
    assert linear_counts(10, 4) == [2, 3, 2, 3]  # LLaDA's even split would be 3, 3, 2, 2
    assert linear_counts(32, 5) == [6, 6, 7, 6, 7]
    remaining, ours = 10, []
    for j in range(4):
        ours.append(tokens_to_commit(Schedule.MDLM, remaining, j, 4))
        remaining -= ours[-1]
    assert ours == [2, 3, 2, 3]


@torch.no_grad()
def mdlm_generate(model, mask: int, prompt: torch.Tensor, gen: int, steps: int, block: int):
    x = torch.cat([prompt, torch.full((gen,), mask, dtype=torch.long)])[None]
    P = len(prompt)
    blocks = math.ceil(gen / block)
    per_block = math.ceil(steps / blocks)
    history = []
    for b in range(blocks):
        start, end = P + b * block, min(P + (b + 1) * block, P + gen)
        for k in linear_counts(int((x[0, start:end] == mask).sum()), per_block):
            mask_index = x == mask
            logits = model(x)
            x0 = logits.argmax(-1)
            p = logits.softmax(-1).gather(-1, x0[..., None]).squeeze(-1)
            p[:, end:] = float("-inf")
            conf = torch.where(mask_index, p, torch.tensor(float("-inf")))
            chosen = torch.topk(conf[0], k).indices
            x[0, chosen] = x0[0, chosen]
            history.append(sorted((chosen - P).tolist()))
    return x[0, P:], history


@pytest.mark.parametrize("gen, steps, block", [(16, 8, 16), (20, 8, 8), (24, 10, 8), (10, 4, 0)])
def test_fill_equals_dllm_mdlm_sampler(a2d, gen, steps, block):
    text = "def add(a, b):\n    return "
    params = SamplerParams.layered(a2d.recipe, {"steps": steps, "block_length": block})
    assert params.schedule is Schedule.MDLM
    run = fill(text, [Hole(len(text), len(text), gen)], a2d, params)
    events = list(run)
    span = run.canvas.spans[0]
    tokens, history = mdlm_generate(a2d.model, a2d.mask_id, run.canvas.ids[: span.start], gen, steps, block or gen)
    assert not a2d.banned[tokens].any(), "the reference chose a banned row: the fixture's head rows are too large"
    assert [sorted(c.offset for c in e.committed) for e in events] == history
    filled = [0] * span.length
    for e in events:
        for c in e.committed:
            filled[c.offset] = c.token
    assert filled == tokens.tolist()
