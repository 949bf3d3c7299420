"""The llama.cpp backend against the native one: same tokens, same logits, same fills; clear errors."""

import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import canvasedit.engine.backends.gguf as gguf_backend
from canvasedit.engine import Hole, SamplerParams, fill, open_backend
from canvasedit.engine.backends.gguf import GGUFBackend
from canvasedit.engine.backends.native import NativeBackend
from canvasedit.engine.errors import BackendUnavailable, BadParams, ContextTooLong
from canvasedit.models.catalog import bundled_path
from canvasedit.models.errors import UnsupportedArchitecture
from canvasedit.models.gguf_file import export_gguf
from canvasedit.models.synthetic import tokenizer_size
from tests.tiny import make_tiny_llada

TEXTS = [
    "def add(a, b):\n    return a + b\n",
    "The quick brown fox — café, naïve, 日本語 🎉\r\n\ttabs  and  spaces ",
    "x = '<|mdm_mask|>' + '<|endoftext|>'  # special-token strings in a document are text",
    "   \n\n\n    leading and trailing whitespace    ",
    "1234567890 0.5e-3 0xFF __dunder__ CamelCase snake_case",
]


@pytest.fixture(scope="module")
def bundled_native():
    return NativeBackend.load(bundled_path(), device="cpu")


@pytest.fixture(scope="module")
def bundled_gguf(tmp_path_factory):
    path = export_gguf(bundled_path(), tmp_path_factory.mktemp("gguf") / "canvasedit-tiny-f16.gguf", "f16").path
    return open_backend(path)


@pytest.fixture(scope="module")
def gqa_pair(tmp_path_factory, tiny_model_dir):
    """A random GQA model with a padded embedding, native and as an f32 GGUF (exact attention)."""
    vocab = tokenizer_size(tiny_model_dir)
    root = tmp_path_factory.mktemp("gqa")
    folder = make_tiny_llada(root / "model", seed=5, tokenizer_from=tiny_model_dir,
                             n_heads=4, n_kv_heads=2, embedding_size=vocab + 7)
    path = export_gguf(folder, root / "model-f32.gguf", "f32").path
    return NativeBackend.load(folder, device="cpu"), GGUFBackend.load(path, flash_attention=False)


def test_open_backend_picks_llama_cpp_for_gguf_files(bundled_gguf):
    assert isinstance(bundled_gguf, GGUFBackend)
    assert bundled_gguf.name == "gguf" and bundled_gguf.device == "cpu"
    assert bundled_gguf.model_name == "canvasedit-tiny-f16.gguf"


def test_special_tokens_and_context_match_the_native_model(bundled_native, bundled_gguf):
    assert bundled_gguf.mask_id == bundled_native.mask_id
    assert bundled_gguf.stop_ids == bundled_native.stop_ids
    assert bundled_gguf.max_length == bundled_native.max_length


@pytest.mark.parametrize("text", TEXTS)
def test_tokenization_matches_the_hf_tokenizer(bundled_native, bundled_gguf, text):
    ids = bundled_gguf.encode(text)
    assert ids == bundled_native.encode(text)
    assert bundled_gguf.decode(ids) == text
    assert bundled_native.mask_id not in ids  # a literal mask string is text
    assert "".join(bundled_gguf.token_text(t) for t in ids) == text or not text.isascii()


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_tokenization_matches_on_any_text(bundled_native, bundled_gguf, text):
    ids = bundled_gguf.encode(text)
    assert ids == bundled_native.encode(text)
    assert bundled_gguf.decode(ids) == text


def test_logits_match_the_native_model(gqa_pair):
    native, gguf = gqa_pair
    torch.manual_seed(0)
    ids = torch.randint(3, 300, (2, 40))
    ids[:, 10:20] = native.mask_id
    want, got = native.logits(ids), gguf.logits(ids)
    assert got.shape == want.shape == (2, 40, native.model.lm_head.weight.shape[0])
    assert torch.equal(native.banned, gguf.banned)  # padded rows, the mask and other specials in both
    diff = (got - want).abs().max().item()  # every row, banned ones too: both return raw logits
    scale = want.abs().max().item()
    # f32 weights and f32 attention on both sides: only summation order differs
    assert diff < 1e-4 * scale, f"max |gguf - native| = {diff:.2e} (logit scale {scale:.1f})"


def test_rows_are_the_same_as_a_full_pass(gqa_pair):
    _, gguf = gqa_pair
    ids = torch.randint(3, 300, (1, 33))
    rows = torch.tensor([0, 5, 6, 31, 5])
    assert torch.equal(gguf.logits(ids, rows), gguf.logits(ids)[:, rows])


def test_shifted_families_read_each_token_from_the_row_before(gqa_pair):
    _, gguf = gqa_pair
    ids = torch.randint(3, 300, (1, 12))
    rows = torch.tensor([0, 1, 4, 11])
    plain = gguf.logits(ids)
    gguf.shift_logits = True
    try:
        shifted = gguf.logits(ids, rows)
    finally:
        gguf.shift_logits = False
    assert torch.equal(shifted, plain[:, torch.tensor([0, 0, 3, 10])])


@pytest.mark.parametrize("flash_attention", [False, True])
def test_the_bundled_models_gguf_export_fills_with_the_same_tokens(bundled_native, bundled_gguf, flash_attention):
    import json as held_out  # held out of the bundled model's training data

    from pathlib import Path

    text = (Path(held_out.__file__).parent / "decoder.py").read_text()
    anchor = text.index("raise JSONDecodeError(\"Expecting ',' delimiter\", s, end - 1)")
    holes = []
    for code in ("end += 1", "pairs = object_hook(pairs)"):  # two holes twenty lines apart, filled jointly
        start = text.index(code, anchor - 400)
        holes.append(Hole(start, start + len(code), length=len(bundled_native.encode(code))))
    backend = GGUFBackend.load(bundled_gguf.info.path, flash_attention=flash_attention)
    params = SamplerParams(steps=12, temperature=0.0)
    want = fill(text, holes, bundled_native, params).run()
    got = fill(text, holes, backend, params).run()
    assert any(h.text.strip() for h in want.holes)  # the model writes something: the comparison is not of blanks
    assert [h.tokens for h in got.holes] == [h.tokens for h in want.holes]
    assert got.text == want.text
    assert [[c.token for c in e.committed] for e in got.trace] == [[c.token for c in e.committed] for e in want.trace]


def test_q8_0_agrees_with_the_native_model_on_most_masked_tokens(tmp_path, bundled_native):
    path = export_gguf(bundled_path(), tmp_path / "q8.gguf", "q8_0").path
    q8 = open_backend(path)
    text = (bundled_path() / "README.md").read_text()[:3000]
    ids = torch.tensor([bundled_native.encode(text)[:400]])
    g = torch.Generator().manual_seed(0)
    masked = torch.rand(ids.shape, generator=g) < 0.3
    ids[masked] = bundled_native.mask_id
    rows = masked[0].nonzero()[:, 0]
    agree = (q8.logits(ids, rows).argmax(-1) == bundled_native.logits(ids, rows).argmax(-1)).float().mean().item()
    assert agree > 0.85, f"q8_0 picks the native model's top token at only {agree:.1%} of {len(rows)} masked rows"


def test_a_canvas_longer_than_the_context_is_refused_not_aborted(bundled_gguf):
    ids = torch.full((1, bundled_gguf.max_length + 1), 5)
    with pytest.raises(ContextTooLong, match="exceeds"):
        bundled_gguf.logits(ids)
    assert bundled_gguf.logits(ids[:, :8]).shape[1] == 8  # the process and the backend are still alive


def test_gguf_models_run_on_the_cpu_only(bundled_gguf):
    with pytest.raises(BadParams, match="CPU"):
        GGUFBackend.load(bundled_gguf.info.path, device="cuda")


def test_a_missing_llama_cpp_gives_an_install_hint(monkeypatch, tmp_path):
    monkeypatch.setattr(gguf_backend, "_LLAMA", None)
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    path = export_gguf(bundled_path(), tmp_path / "m.gguf", "q4_0").path
    with pytest.raises(BackendUnavailable, match=r"pip install 'canvasedit\[gguf\]'"):
        open_backend(path)


def test_an_unsupported_architecture_is_refused_before_llama_cpp(tmp_path):
    import gguf
    import numpy as np

    path = tmp_path / "qwen.gguf"
    w = gguf.GGUFWriter(str(path), "qwen2")
    w.add_tensor("token_embd.weight", np.zeros((8, 4), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(UnsupportedArchitecture):
        open_backend(path)


def test_builds_that_run_matmuls_on_amx_tiles_load_without_repacked_weights():
    from types import SimpleNamespace

    from canvasedit.engine.backends.gguf import _has_amx

    # llama.cpp's AMX matmul crashes the process on q8_0 / q4_0 (this suite's q8_0 test did, on such a CPU).
    amx = SimpleNamespace(llama_print_system_info=lambda: b"CPU : AVX512 = 1 | AMX_INT8 = 1 | REPACK = 1 |")
    plain = SimpleNamespace(llama_print_system_info=lambda: b"CPU : AVX2 = 1 | REPACK = 1 |")
    assert _has_amx(amx) and not _has_amx(plain)
