"""Dream and LLaDA-MoE through llama.cpp: the f32 export gives the native logits and the same fills, Dream's
shift and BOS-first canvas hold, the family's layout and recipe travel with the file, and a GGUF of an
architecture llama.cpp has but CanvasEdit does not run is refused in one line naming what it does run."""

import gguf
import numpy as np
import pytest
import torch

from canvasedit.engine import Hole, SamplerParams, fill, open_backend
from canvasedit.engine.backends.gguf import GGUFBackend
from canvasedit.engine.backends.native import NativeBackend
from canvasedit.models.errors import UnsupportedArchitecture
from canvasedit.models.gguf_file import export_gguf, read_gguf_info
from tests.families import make_dream, make_llada_moe

CONTEXT = 256  # the tests' canvases are short; a smaller llama.cpp context keeps its buffers small
TEXTS = [
    "def add(a, b):\n    return a + b\n",
    "The quick brown fox — café, naïve, 日本語 🎉\r\n\ttabs  and  spaces ",
    "It's I'LL we'd 1234567 0xFF __dunder__ CamelCase!!! ?!\n\n\n  x",
    "x = '<|mask|>' + '<|endoftext|>' + '</s>'  # special-token strings in a document are text",
]


# Triton's CPU interpreter takes seconds per 100k-wide row: these tests use the PyTorch reference
# (the kernel itself is checked against it in tests/kernels).
pytestmark = pytest.mark.usefixtures("reference_kernels")


@pytest.fixture(scope="module", params=["dream", "llada-moe"])
def pair(request, tmp_path_factory):
    """A real-layout tiny checkpoint, native and as an f32 GGUF (exact attention, no flash rounding)."""
    root = tmp_path_factory.mktemp(request.param)
    folder = make_dream(root / "model", "coder") if request.param == "dream" else make_llada_moe(root / "model")
    path = export_gguf(folder, root / "model-f32.gguf", "f32").path
    native = NativeBackend.load(folder, device="cpu")
    backend = GGUFBackend(read_gguf_info(path), max_context=CONTEXT, flash_attention=False)
    yield native, backend
    backend.close()


def test_the_file_carries_the_familys_tokens_layout_and_recipe(pair):
    native, backend = pair
    assert backend.info.family is native.spec
    assert backend.mask_id == native.mask_id
    assert backend.stop_ids == native.stop_ids and backend.end_ids == native.end_ids
    assert torch.equal(backend.banned, native.banned)  # the mask, other specials, padded rows in both
    assert backend.layout == native.layout and backend.recipe == native.recipe
    assert backend.shift_logits is native.shift_logits is (native.spec.name == "dream")


@pytest.mark.parametrize("text", TEXTS)
def test_tokenization_matches_the_hf_tokenizer(pair, text):
    native, backend = pair
    ids = backend.encode(text)
    assert ids == native.encode(text)
    assert backend.decode(ids) == text and native.mask_id not in ids


def test_logits_match_the_native_model(pair):
    native, backend = pair
    torch.manual_seed(0)
    ids = torch.randint(0, 150000, (2, 40))
    ids[:, 10:20] = native.mask_id
    rows = torch.tensor([0, 1, 9, 10, 15, 39])
    want, got = native.logits(ids), backend.logits(ids)
    assert got.shape == want.shape == (2, 40, native.model.lm_head.weight.shape[0])
    diff = (got - want).abs().max().item()  # every row, banned ones too: both return raw logits
    scale = want.abs().max().item()
    # f32 weights and f32 attention on both sides: only summation order differs
    assert diff < 1e-4 * scale, f"max |gguf - native| = {diff:.2e} (logit scale {scale:.1f})"
    assert torch.allclose(backend.logits(ids, rows), native.logits(ids, rows), atol=1e-4 * scale)


def test_fills_give_the_same_tokens(pair):
    native, backend = pair
    text = "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n"
    holes = [Hole(text.index("if"), text.index("if"), 8), Hole(len(text), len(text), 12)]  # filled jointly
    params = SamplerParams.layered(native.recipe, {"steps": 10})
    want = fill(text, holes, native, params).run()
    got = fill(text, holes, backend, params).run()
    assert [h.tokens for h in got.holes] == [h.tokens for h in want.holes]
    assert got.text == want.text
    assert [[c.token for c in e.committed] for e in got.trace] == [[c.token for c in e.committed] for e in want.trace]


@pytest.mark.parametrize("pair", ["dream"], indirect=True)  # only Dream's logits are shifted
def test_a_hole_at_the_start_of_a_dream_document_reads_its_first_token_from_bos(pair):
    native, backend = pair
    text = "import os\n"
    params = SamplerParams.layered(native.recipe, {"steps": 8})
    run = fill(text, [Hole(0, 0, 8)], backend, params)
    assert run.canvas.ids[0] == 151665 and run.canvas.spans[0].start == 1  # Dream-Coder's <|beginoftext|>
    got = run.run()
    want = fill(text, [Hole(0, 0, 8)], native, params).run()
    assert got.holes[0].tokens == want.holes[0].tokens and got.text.endswith(text)
    with torch.no_grad():
        raw = native.model(run.canvas.ids[None])[0]  # unshifted: row i predicts token i + 1
    first = backend.logits(run.canvas.ids[None], torch.tensor([1]))[0, 0]
    assert torch.allclose(first, raw[0], atol=1e-3) and not torch.allclose(first, raw[1], atol=1e-1)


def test_q8_0_picks_the_native_token_wherever_the_native_model_is_decided(pair, tmp_path):
    """Quantized experts and attention as llama.cpp runs them: a random tiny model has many near-ties at masked
    rows (and q8_0 may flip an expert choice), so agreement is asked where native's top token leads clearly."""
    native, _ = pair
    path = export_gguf(native.loaded.path, tmp_path / "q8.gguf", "q8_0").path
    q8 = GGUFBackend(read_gguf_info(path), max_context=CONTEXT)
    try:
        ids = torch.tensor([native.encode(" ".join(TEXTS))[:120]])
        masked = torch.rand(ids.shape, generator=torch.Generator().manual_seed(0)) < 0.3
        ids[masked] = native.mask_id
        rows = masked[0].nonzero()[:, 0]
        want, got = native.logits(ids, rows)[0], q8.logits(ids, rows)[0]
    finally:
        q8.close()
    top2 = want.topk(2, dim=-1).values
    decided = top2[:, 0] - top2[:, 1] > 0.25
    agree = got.argmax(-1) == want.argmax(-1)
    assert decided.sum() >= 5 and agree[decided].all(), f"{(~agree[decided]).sum()} of {decided.sum()} decided rows differ"
    assert agree.float().mean() > 0.6, f"q8_0 picks the native top token at only {agree.float().mean():.1%} of rows"


def test_open_backend_reads_the_family_from_the_file(pair):
    native, backend = pair
    opened = open_backend(backend.info.path)
    try:
        assert isinstance(opened, GGUFBackend) and opened.info.family is native.spec
        assert opened.recipe == native.recipe and opened.layout == native.layout
        # the context the family is meant for (Dream: 2048), up to the backend's cap
        assert opened.max_length == min(native.max_length, 4096)
    finally:
        opened.close()


@pytest.mark.parametrize("arch", ["qwen2", "llama"])
def test_an_architecture_llama_cpp_has_but_canvasedit_does_not_run_is_refused(tmp_path, arch):
    path = tmp_path / f"{arch}.gguf"
    w = gguf.GGUFWriter(str(path), arch)
    w.add_context_length(64)
    w.add_tensor("token_embd.weight", np.zeros((8, 4), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(UnsupportedArchitecture) as info:
        open_backend(path)
    message = str(info.value)
    assert f"'{arch}'" in message and "\n" not in message
    assert all(name in message for name in ("dream", "llada", "llada-moe"))
