"""BD3LM-trained A2D models (dllm-hub/Qwen3-0.6B-diffusion-bd3lm-v0.1): the family a catalog entry
names, block-causal attention counted from the hole, and step-for-step equality with dllm's sampler.

``bd3lm_sample`` restates ``dllm/core/samplers/bd3lm.py`` (``BD3LMSampler.sample``) at temperature 0
with low-confidence remasking, literally: the prompt is left-padded with the pad token to a whole
number of blocks; the staircase mask ``block(k) <= block(q)`` is built on physical positions and pads
are neither queries nor keys; RoPE positions skip the pads; each new block of ``min(block, left)``
masks gets ``ceil(steps / blocks)`` steps of linear-α counts (zero counts dropped, as in
``get_num_transfer_tokens``); each step commits the top-k masked positions of the block by the
softmax probability of the argmax; after a block that holds the end-of-sequence token, no further
block is started. It recomputes everything each step; the fill under test runs through
``BlockCausalSession``, which caches finished blocks and has no pads.
"""

import math

import pytest
import torch

from canvasedit.engine import Hole, SamplerParams, fill
from canvasedit.engine.backends.native import NativeBackend
from canvasedit.engine.session import BlockCausalSession, block_causal_mask
from canvasedit.models import registry
from canvasedit.models.errors import UnsupportedArchitecture
from canvasedit.models.loading import read_config
from tests.engine.test_reference_mdlm import linear_counts
from tests.families import make_a2d, make_sdar

pytestmark = pytest.mark.usefixtures("reference_kernels")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return make_a2d(tmp_path_factory.mktemp("bd3lm") / "model", qwen3=True)


@pytest.fixture(scope="module")
def bd3lm(folder):
    return NativeBackend.load(folder, device="cpu", family="a2d-bd3lm")


def test_the_config_alone_gives_the_mdlm_family_and_an_entry_names_the_bd3lm_one(folder, tmp_path):
    config = read_config(folder)
    assert registry.resolve(config).name == "a2d"  # the same config.json as the MDLM conversion's
    spec = registry.resolve_named("a2d-bd3lm", config)
    assert spec.name == "a2d-bd3lm" and not spec.sees_suffix
    plain = NativeBackend.load(folder, device="cpu")
    assert plain.layout.block_size == 0 and plain.layout.sees_suffix
    sdar = read_config(make_sdar(tmp_path / "sdar"))
    with pytest.raises(UnsupportedArchitecture, match="listed as A2D BD3LM .* config.json is a SDAR model's"):
        registry.resolve_named("a2d-bd3lm", sdar)


def test_the_backend_is_block_causal_in_blocks_of_32_counted_from_the_hole(bd3lm):
    layout = bd3lm.layout
    assert layout.block_size == 32 and layout.blocks_from_hole and not layout.sees_suffix
    assert [layout.block_offset(p) for p in (0, 1, 10, 32, 33)] == [0, 31, 22, 0, 31]
    assert bd3lm.recipe["schedule"] == "mdlm" and bd3lm.recipe["block_length"] == 32


@torch.no_grad()
def from_scratch(model, ids: torch.Tensor, block: int, offset: int) -> torch.Tensor:
    pos = torch.arange(len(ids))
    return model.lm_head(model.hidden(ids[None], pos[None], block_causal_mask(pos, pos, block, offset))[0]).float()


def test_the_session_with_an_offset_is_exact_and_computes_only_the_current_blocks(bd3lm):
    torch.manual_seed(3)
    ids = torch.randint(0, 151000, (80,))
    hole = 13  # blocks: [0, 13), [13, 45), [45, 77), [77, 80)
    offset = bd3lm.layout.block_offset(hole)
    session = BlockCausalSession(bd3lm.model, 32, False, torch.device("cpu"), offset)
    for lo, hi in ((13, 45), (45, 77), (77, 80)):
        for step in range(2):
            rows = torch.arange(lo + step, hi)
            got = session.logits(ids, rows)
            assert (got - from_scratch(bd3lm.model, ids, 32, offset)[rows]).abs().max() < 1e-4, (lo, step)
            ids[rows[0]] = (ids[rows[0]] + 7) % 151000
    # The first block's rows were computed once, not again for the later blocks (which read them cached).
    assert session.rows_computed == 13 + 2 * 32 + 32 + 2 * 32 + 32 + 2 * 3
    # Counting from the canvas's start instead would let row 13 see rows up to 31 only.
    assert not torch.allclose(from_scratch(bd3lm.model, ids, 32, 0)[13], from_scratch(bd3lm.model, ids, 32, offset)[13])


@torch.no_grad()
def bd3lm_sample(model, mask: int, pad: int, eos: int, prompt: torch.Tensor, gen: int, steps: int, block: int):
    P = len(prompt)
    lead = -P % block
    x = torch.cat([torch.full((lead,), pad, dtype=torch.long), prompt])
    blocks = math.ceil(gen / block)
    per_block = math.ceil(steps / blocks)
    history, generated = [], 0
    for _ in range(blocks):
        n = min(block, gen - generated)
        start = len(x)
        x = torch.cat([x, torch.full((n,), mask, dtype=torch.long)])
        valid = torch.ones(len(x), dtype=torch.bool)
        valid[:lead] = False
        positions = torch.where(valid, valid.long().cumsum(0) - 1, 0)
        block_id = torch.arange(len(x)) // block
        attend = (block_id[None, :] <= block_id[:, None]) & valid[None, :] & valid[:, None]
        attend |= torch.eye(len(x), dtype=torch.bool)  # a pad row sees itself only: no NaN; it is never read
        for k in linear_counts(n, per_block):
            masked = x[start:] == mask
            if not masked.any():
                break
            h = model.hidden(x[None], positions[None], attend[None, None])[0, start:]
            logits = model.lm_head(h).float()
            x0 = logits.argmax(-1)
            p = logits.softmax(-1).gather(-1, x0[:, None]).squeeze(-1)
            conf = torch.where(masked, p, torch.tensor(float("-inf")))
            chosen = torch.topk(conf, min(k, int(masked.sum()))).indices
            x[start + chosen] = x0[chosen]
            history.append(sorted((start + chosen - lead - P).tolist()))
        generated += n
        if bool((x[start:] == eos).any()):
            break
    return x[lead + P :], history


@pytest.mark.parametrize("prompt, gen, steps", [
    ("def add(a, b):\n    return ", 40, 16),  # a prompt of no whole number of blocks; a short last block
    ("x = 1\n", 64, 8),
    ("import os\nimport sys\n\n\ndef main(argv):\n    '''Run the tool.'''\n    ", 32, 32),
])
def test_fill_equals_dllm_bd3lm_sampler(bd3lm, prompt, gen, steps):
    params = SamplerParams.layered(bd3lm.recipe, {"steps": steps})
    run = fill(prompt, [Hole(len(prompt), len(prompt), gen)], bd3lm, params)
    events = list(run)
    span = run.canvas.spans[0]
    eos = bd3lm.tokenizer.eos_token_id
    tokens, history = bd3lm_sample(bd3lm.model, bd3lm.mask_id, bd3lm.tokenizer.pad_token_id, eos,
                                   run.canvas.ids[: span.start], gen, steps, 32)
    assert not bd3lm.banned[tokens[tokens != bd3lm.mask_id]].any(), "the reference chose a banned row"
    ours = [sorted(c.offset for c in e.committed) for e in events]
    assert ours[: len(history)] == history
    if len(history) < len(ours):  # the reference starts no block after one with an end of sequence in it
        assert bool((tokens == eos).any())
    filled = [bd3lm.mask_id] * span.length
    for e in events[: len(history)]:
        for c in e.committed:
            filled[c.offset] = c.token
    assert filled == tokens.tolist() + [bd3lm.mask_id] * (span.length - len(tokens))


def test_the_shape_of_the_fill_follows_the_blocks(bd3lm):
    """Positions of the hole's second block are committed only after its first block is full."""
    text = "def add(a, b):\n    return "
    run = fill(text, [Hole(len(text), len(text), 40)], bd3lm, SamplerParams.layered(bd3lm.recipe, {"steps": 40}))
    seen: set[int] = set()
    for event in run:
        offsets = {c.offset for c in event.committed}
        if any(o >= 32 for o in offsets):
            assert set(range(32)) <= seen
        seen |= offsets
