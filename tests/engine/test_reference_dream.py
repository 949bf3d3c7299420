"""CanvasEdit's fill against Dream's own ``diffusion_generate`` on a real-layout Dream checkpoint.

``dream_generate`` below restates the hub ``generation_utils.py`` ``_sample`` at temperature 0
(``maskgit_plus``, ``topk_margin``, ``entropy``): canvas = prompt + masks; every step one forward
pass over the whole canvas, logits shifted (``cat([l[:, :1], l[:, :-1]])``: token i is read from
position i−1), ``softmax`` over the full head, confidence = max prob / top1 − top2 /
Σ p·log(p + 1e-10); ``timesteps = linspace(1, eps, steps + 1)``; ``k = int(n_masked · (1 − s/t))``
(all at the last step); top-k over the masked positions. The model, the shift and the mask id are
the ones under test: a fill that read token i from row i gives other tokens (tested below).
"""

import pytest
import torch

from canvasedit.engine import Hole, SamplerParams, fill
from canvasedit.engine.backends.native import NativeBackend
from tests.families import make_dream

MASK = 151666
ALGS = {"maskgit_plus": "low_confidence", "topk_margin": "margin", "entropy": "entropy"}


# Triton's CPU interpreter takes seconds per 100k-wide row: these tests use the PyTorch reference
# (the kernel itself is checked against it in tests/kernels).
pytestmark = pytest.mark.usefixtures("reference_kernels")


@pytest.fixture(scope="module")
def dream(tmp_path_factory):
    return NativeBackend.load(make_dream(tmp_path_factory.mktemp("dream") / "model", "coder"), device="cpu")


@torch.no_grad()
def dream_generate(model, prompt: torch.Tensor, gen_length: int, steps: int, alg: str, eps: float = 1e-3):
    x = torch.cat([prompt, torch.full((gen_length,), MASK, dtype=torch.long)])[None]
    timesteps = torch.linspace(1, eps, steps + 1)
    history = []
    for i in range(steps):
        mask_index = x == MASK
        logits = model(x)
        logits = torch.cat([logits[:, :1], logits[:, :-1]], dim=1)
        probs = logits[mask_index].softmax(-1)
        confidence, x0 = probs.max(-1)
        if alg == "topk_margin":
            top = torch.sort(probs, dim=-1, descending=True).values
            confidence = top[:, 0] - top[:, 1]
        elif alg == "entropy":
            confidence = (probs * torch.log(probs + 1e-10)).sum(-1)
        n = mask_index.sum() / mask_index.shape[0]
        t, s = timesteps[i], timesteps[i + 1]
        k = int(n * (1 - s / t)) if i < steps - 1 else int(n)
        full = torch.full_like(x, float("-inf"), dtype=torch.float32)
        full[mask_index] = confidence
        if k > 0:
            chosen = torch.topk(full[0], k).indices
            x_ = torch.full_like(x, MASK)
            x_[mask_index] = x0
            x[0, chosen] = x_[0, chosen]
            history.append(sorted((chosen - len(prompt)).tolist()))
    return x[0, len(prompt):], history


CASES = [  # (document, hole length, steps); the hole is at the end: diffusion_generate only appends masks
    ("def fibonacci(n):\n    ", 16, 8),
    ("def fibonacci(n):\n    ", 16, 16),
    ("The quick brown fox jumps over the lazy dog. ", 24, 12),
    ("x = [1, 2, 3]\n", 12, 5),
]


@pytest.mark.parametrize("alg", list(ALGS))
@pytest.mark.parametrize("text, length, steps", CASES)
def test_fill_equals_dream_diffusion_generate(dream, alg, text, length, steps):
    at = len(text)
    params = SamplerParams.layered(dream.recipe, {"algorithm": ALGS[alg], "steps": steps})
    run = fill(text, [Hole(at, at, length)], dream, params)
    events = list(run)
    span = run.canvas.spans[0]
    assert run.canvas.ids[0] == 151665  # BOS (Dream-Coder's <|beginoftext|>) first: a hole never starts the canvas
    prompt = run.canvas.ids[: span.start]
    tokens, history = dream_generate(dream.model, prompt, length, steps, alg)
    assert not dream.banned[tokens].any(), "the reference chose a banned row: the fixture's head rows are too large"
    assert [sorted(c.offset for c in e.committed) for e in events] == history
    filled = [0] * span.length
    for e in events:
        for c in e.committed:
            filled[c.offset] = c.token
    assert filled == tokens.tolist()


def test_a_hole_at_the_start_reads_its_first_token_from_bos(dream):
    text = "import os\n"
    run = fill(text, [Hole(0, 0, 8)], dream, SamplerParams.layered(dream.recipe, {"steps": 8}))
    assert run.canvas.ids[0] == 151665 and run.canvas.spans[0].start == 1
    result = run.run()
    assert result.text.endswith("import os\n") and result.holes[0].start == 0
    with torch.no_grad():
        raw = dream.model(run.canvas.ids[None])[0]
    # The first hole token is scored by row 0 (BOS): exactly what the backend returns for canvas row 1.
    assert torch.allclose(dream.logits(run.canvas.ids[None], torch.tensor([1]))[0, 0], raw[0], atol=1e-5)
    assert not torch.allclose(raw[0], raw[1], atol=1e-3)


def test_reading_token_i_from_row_i_would_give_other_tokens(dream, monkeypatch):
    text = "def fibonacci(n):\n    "
    params = SamplerParams.layered(dream.recipe, {"steps": 8})
    right = fill(text, [Hole(len(text), len(text), 16)], dream, params).run()
    monkeypatch.setattr(dream, "shift_logits", False)
    wrong = fill(text, [Hole(len(text), len(text), 16)], dream, params).run()
    assert right.holes[0].tokens != wrong.holes[0].tokens
