"""CanvasEdit's fill against LLaDA's own ``generate()`` on a real-layout LLaDA-8B-Instruct checkpoint.

``llada_generate`` below restates ML-GSAI/LLaDA ``generate.py`` (temperature 0, low-confidence
remasking, no CFG): canvas = prompt + gen_length masks, blocks of block_length, a block's masks
spread evenly over its steps with the remainder on the first ones, each step one forward pass over
the whole canvas, x0 = argmax, confidence = softmax over *every* row of the head at x0, −inf past
the block, top-k commit. CanvasEdit must commit the same positions at every step and end with
the same tokens, for every setting README documents (steps, block length, hole length).
"""

import pytest
import torch

from canvasedit.engine import Hole, SamplerParams, fill
from canvasedit.engine.backends.native import NativeBackend
from tests.tiny import make_llada_real_layout

MASK = 126336


# Triton's CPU interpreter takes seconds per 100k-wide row: these tests use the PyTorch reference
# (the kernel itself is checked against it in tests/kernels).
pytestmark = pytest.mark.usefixtures("reference_kernels")


@pytest.fixture(scope="module")
def llada(tmp_path_factory):
    return NativeBackend.load(make_llada_real_layout(tmp_path_factory.mktemp("llada-real") / "model"), device="cpu")


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
        counts = transfer_counts(int((x[0, P + b * block_length : end] == MASK).sum()), steps // blocks)
        for k in counts:
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


PROMPTS = [
    "def fibonacci(n):\n    ",
    "The quick brown fox jumps over the lazy dog. ",
    "import os\nimport sys\n\nclass Point:\n    def __init__(self, x, y):\n        self.x = x\n",
]
SETTINGS = [  # (hole length, steps, block length); block length 0 = the hole as one block
    (32, 32, 0),  # README's defaults
    (16, 8, 8),
    (16, 16, 16),
    (32, 8, 8),
    (24, 12, 8),
    (16, 4, 0),
    (32, 16, 16),
]


@pytest.mark.parametrize("gen_length, steps, block_length", SETTINGS)
@pytest.mark.parametrize("prompt", PROMPTS, ids=["code", "prose", "class"])
def test_fill_equals_llada_generate_token_for_token_and_step_for_step(llada, prompt, gen_length, steps, block_length):
    run = fill(prompt, [Hole(len(prompt), len(prompt), gen_length)], llada,
               SamplerParams(steps=steps, block_length=block_length))
    events = list(run)
    span = run.canvas.spans[0]
    prompt_ids = run.canvas.ids[: span.start]
    tokens, history = llada_generate(llada.model, prompt_ids, steps, gen_length, block_length or gen_length)
    assert not llada.banned[tokens].any(), "the reference chose a banned row: the fixture's head rows are too large"
    ours = [sorted(c.offset for c in e.committed) for e in events]
    assert ours == [h for h in history if h], "per-step commits differ"
    filled = [0] * span.length
    for e in events:
        for c in e.committed:
            filled[c.offset] = c.token
    assert filled == tokens.tolist()


def test_special_tokens_of_llada_instruct_never_reach_the_document(llada):
    assert llada.mask_id == MASK
    assert set(llada.stop_ids) == {126081, 126348} and llada.end_ids == (126348,)
    banned = set(llada.banned.nonzero().flatten().tolist())
    assert {126080, 126082, 126083, 126084, 126335, 126337, 126346, 126347, MASK} <= banned
    assert set(range(126349, 126464)) <= banned  # embedding rows past the tokenizer
    assert not banned & {126081, 126348} and not banned & set(range(126080))
    # Make a reserved token the most likely row at every hole position: it still may not be chosen.
    text = "x = 1\n"
    run = fill(text, [Hole(4, 4, 8)], llada, SamplerParams(steps=8))
    span = run.canvas.spans[0]
    head = llada.model.lm_head.weight
    saved = head.data.clone()
    try:
        with torch.no_grad():
            h = llada.model.hidden(run.canvas.ids[None])[0, span.start : span.stop].mean(0)
            head.data[126100] = 100 * h / h.pow(2).sum()
            raw = llada.logits(run.canvas.ids[None], torch.arange(span.start, span.stop))[0]
        assert (raw.argmax(-1) == 126100).all(), "the test needs the reserved token to be the argmax"
        result = run.run()
        assert 126100 not in result.holes[0].tokens and "<|" not in result.holes[0].text
    finally:
        head.data.copy_(saved)
