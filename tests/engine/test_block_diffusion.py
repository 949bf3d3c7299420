"""Block-diffusion families (SDAR, Fast-dLLM v2): block-causal attention, the exact KV cache over
finished blocks, and step-for-step equality with each family's own sampler.

The reference samplers below are restated at temperature 0 (argmax, the chosen token's softmax
probability as confidence) and recompute every step from scratch with the block-causal mask; the
fills under test run through ``BlockCausalSession``, which caches finished blocks.

* SDAR ``block_diffusion_generate`` (``low_confidence_dynamic``): per block of ``block_length``,
  ``denoising_steps`` steps with counts ``block_length // steps`` (+1 on the first ``block_length %
  steps``); each step commits every masked position with confidence > threshold if there are at least
  the step's count of them, else the top ones.
* Fast-dLLM v2 ``batch_sample``: blocks of ``bd_size``; the first position of each block is the argmax
  of the previous block's last row; then sub-blocks left to right, each step committing every masked
  position of the sub-block with confidence > threshold plus the most confident one; logits shifted.
"""

import json

import pytest
import torch

from canvasedit.engine import Hole, SamplerParams, fill
from canvasedit.engine.backends.native import NativeBackend
from canvasedit.engine.session import BlockCausalSession, block_causal_mask
from tests.families import make_fast_dllm, make_sdar


# Triton's CPU interpreter takes seconds per 100k-wide row: these tests use the PyTorch reference
# (the kernel itself is checked against it in tests/kernels).
pytestmark = pytest.mark.usefixtures("reference_kernels")


@pytest.fixture(scope="module")
def sdar(tmp_path_factory):
    return NativeBackend.load(make_sdar(tmp_path_factory.mktemp("sdar") / "model"), device="cpu")


@pytest.fixture(scope="module")
def fast_dllm(tmp_path_factory):
    return NativeBackend.load(make_fast_dllm(tmp_path_factory.mktemp("fast-dllm") / "model"), device="cpu")


@torch.no_grad()
def block_logits(model, x: torch.Tensor, block: int, shift: bool, rows: slice = slice(None)) -> torch.Tensor:
    """Logits of canvas ``x (T,)`` at ``rows`` under block-causal attention, recomputed from scratch."""
    pos = torch.arange(len(x))
    h = model.hidden(x[None], pos[None], block_causal_mask(pos, pos, block))[0]
    if shift:
        h = torch.cat([h[:1], h[:-1]])
    return model.lm_head(h[rows])


def test_block_causal_logits_match_transformers_with_the_same_mask(sdar, tmp_path):
    from safetensors.torch import load_file
    from transformers import Qwen3Config, Qwen3ForCausalLM

    folder = sdar.loaded.path
    cfg = json.loads((folder / "config.json").read_text())
    keys = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
            "vocab_size", "max_position_embeddings", "rope_theta", "rms_norm_eps", "head_dim")
    config = Qwen3Config(**{k: cfg[k] for k in keys}, tie_word_embeddings=False, attention_bias=False)
    config._attn_implementation = "eager"
    ref = Qwen3ForCausalLM(config).eval()
    ref.load_state_dict({k: v.float() for k, v in load_file(str(folder / "model.safetensors")).items()})
    ids = torch.randint(0, 151000, (1, 22))
    pos = torch.arange(22)
    allowed = block_causal_mask(pos, pos, 4)
    additive = torch.zeros(1, 1, 22, 22).masked_fill(~allowed, float("-inf"))
    with torch.no_grad():
        want = ref(input_ids=ids, attention_mask=additive).logits[0]
        got = block_logits(sdar.model, ids[0], 4, shift=False)
    assert (got - want).abs().max() < 1e-4
    changed = ids.clone()
    changed[0, 8:] = 7  # later blocks: invisible to the first two
    assert torch.allclose(block_logits(sdar.model, changed[0], 4, False)[:8], got[:8], atol=1e-5)
    assert not torch.allclose(block_logits(sdar.model, changed[0], 4, False)[8:], got[8:], atol=1e-3)


@pytest.mark.parametrize("shift", [False, True])
def test_the_session_cache_is_exact_and_computes_only_the_current_blocks(sdar, shift):
    torch.manual_seed(1)
    ids = torch.randint(0, 151000, (40,))
    session = BlockCausalSession(sdar.model, 4, shift, torch.device("cpu"))
    rows_asked = 0
    for lo in range(12, 40, 4):  # blocks filled in order, as the denoising loop does
        for step in range(2):
            rows = torch.arange(lo + step, lo + 4)
            got = session.logits(ids, rows)
            want = block_logits(sdar.model, ids, 4, shift)[rows]
            assert (got - want).abs().max() < 1e-4, (lo, step)
            ids[rows[0]] = (ids[rows[0]] + 11) % 151000  # commit one token, as a step does
            rows_asked += 1
    assert session.rows_computed < 0.5 * rows_asked * len(ids)  # not the whole canvas each step
    ids[3] = 99  # a change before the cache's end (a revision) rebuilds it instead of going stale
    rows = torch.arange(37, 40)
    assert (session.logits(ids, rows) - block_logits(sdar.model, ids, 4, shift)[rows]).abs().max() < 1e-4


@torch.no_grad()
def sdar_generate(model, mask: int, prompt: torch.Tensor, gen: int, block: int, steps: int, threshold: float):
    x = torch.cat([prompt, torch.full((gen,), mask, dtype=torch.long)])
    counts = [block // steps + (1 if i < block % steps else 0) for i in range(steps)]
    history = []
    for b in range(len(prompt) // block, len(x) // block):
        lo, hi = b * block, (b + 1) * block
        for n in counts:
            masked = x[lo:hi] == mask
            if not masked.any():
                break
            logits = block_logits(model, x, block, False, slice(lo, hi))
            probs = logits.softmax(-1)
            p, x0 = probs.max(-1)
            conf = torch.where(masked, p, torch.tensor(float("-inf")))
            high = conf > threshold
            chosen = high.nonzero().flatten() if int(high.sum()) >= n else torch.topk(conf, min(n, int(masked.sum()))).indices
            x[lo + chosen] = x0[chosen]
            history.append(sorted((lo + chosen - len(prompt)).tolist()))
    return x[len(prompt):], history


@pytest.mark.parametrize("gen, threshold", [(8, 0.85), (12, 0.2), (16, 0.001)])
def test_fill_equals_sdar_block_diffusion_generate(sdar, gen, threshold):
    text = "def add(a, b):\n    return a"
    ids = sdar.encode(text)
    text = sdar.decode(ids[: len(ids) // 4 * 4])  # the prompt fills whole blocks, as in SDAR's own runs
    params = SamplerParams.layered(sdar.recipe, {"threshold": threshold})
    run = fill(text, [Hole(len(text), len(text), gen)], sdar, params)
    events = list(run)
    span = run.canvas.spans[0]
    assert span.start % 4 == 0
    tokens, history = sdar_generate(sdar.model, sdar.mask_id, run.canvas.ids[: span.start], gen, 4, 4, threshold)
    assert not sdar.banned[tokens].any()
    assert [sorted(c.offset for c in e.committed) for e in events] == history
    assert [t for t in run.result.holes[0].tokens] == [t for t in tokens.tolist() if t not in sdar.stop_ids]


@torch.no_grad()
def fast_dllm_generate(model, mask: int, prompt: torch.Tensor, gen: int, block: int, sub: int, threshold: float):
    x = torch.cat([prompt, torch.full((gen,), mask, dtype=torch.long)])
    history = []
    P = len(prompt)
    for b in range(P // block, -(-len(x) // block)):
        lo, hi = b * block, min((b + 1) * block, len(x))
        if lo >= P and x[lo] == mask:  # the block's first token: the argmax of the previous block's last row
            x[lo] = block_logits(model, x, block, True, slice(lo, lo + 1))[0].argmax()
            history.append([lo - P])
        for s_lo in range(lo, hi, sub):
            s_hi = min(s_lo + sub, hi)
            while (x[s_lo:s_hi] == mask).any():
                logits = block_logits(model, x, block, True, slice(s_lo, s_hi))
                p, x1 = logits.softmax(-1).max(-1)
                masked = x[s_lo:s_hi] == mask
                conf = torch.where(masked, p, torch.tensor(float("-inf")))
                unmask = conf > threshold
                unmask[conf.argmax()] = True
                chosen = (unmask & masked).nonzero().flatten()
                x[s_lo + chosen] = x1[chosen]
                history.append(sorted((s_lo + chosen - P).tolist()))
    return x[P:], history


@pytest.mark.parametrize("prompt_tokens, gen, threshold", [(32, 40, 0.9), (20, 44, 0.3)])
def test_fill_equals_fast_dllm_v2_batch_sample(fast_dllm, prompt_tokens, gen, threshold):
    base = "import os\nimport sys\n\n\ndef main(argv):\n    return len(argv)\n\n\nclass Point:\n    pass\n" * 3
    ids = fast_dllm.encode(base)
    text = fast_dllm.decode(ids[: prompt_tokens - 1])  # BOS + these tokens
    params = SamplerParams.layered(fast_dllm.recipe, {"threshold": threshold})
    run = fill(text, [Hole(len(text), len(text), gen)], fast_dllm, params)
    assert len(fast_dllm.encode(text)) == prompt_tokens - 1
    events = list(run)
    span = run.canvas.spans[0]
    assert run.canvas.ids[0] == 151643 and span.start == prompt_tokens
    tokens, history = fast_dllm_generate(fast_dllm.model, fast_dllm.mask_id, run.canvas.ids[: span.start], gen,
                                         32, 8, threshold)
    assert not fast_dllm.banned[tokens].any()
    assert [sorted(c.offset for c in e.committed) for e in events] == history


def test_block_models_never_see_the_suffix(sdar):
    params = SamplerParams.layered(sdar.recipe)
    a = fill("x = 1\n\ny = 2\n", [Hole(6, 6, 8)], sdar, params).run()
    b = fill("x = 1\n\nz = [9, 9, 9]\nprint(z)\n", [Hole(6, 6, 8)], sdar, params).run()
    assert a.holes[0].tokens == b.holes[0].tokens
    assert not sdar.layout.sees_suffix and sdar.spec.sees_suffix is False
