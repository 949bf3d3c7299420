"""The fused confidence kernel against its PyTorch reference (Triton's interpreter on CPU in CI,
compiled on a GPU when one is present)."""

import pytest
import torch

from canvasedit.kernels import HAS_TRITON, greedy_confidence
from canvasedit.kernels._triton import interpreting
from canvasedit.kernels.confidence import confidence_reference, confidence_triton

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
runnable = HAS_TRITON and (torch.cuda.is_available() or interpreting())
needs_triton = pytest.mark.skipif(not runnable, reason="needs Triton with CUDA or TRITON_INTERPRET=1 (set by make test)")

# Both sides upcast to float32 before any arithmetic, so low-precision inputs agree as closely as
# float32 ones; the tolerance covers the different summation order of the online softmax.
TOL = {torch.float32: 2e-5, torch.float16: 2e-5, torch.bfloat16: 2e-5}


def assert_close(name, got, want, tol):
    diff = (got.float() - want.float()).abs()
    assert diff.max() <= tol, f"{name}: max_diff={diff.max():.3e} mean_diff={diff.mean():.3e} tol={tol}"


@needs_triton
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("rows, vocab", [(1, 7), (3, 4096), (5, 4097), (2, 9000)])
@pytest.mark.parametrize("with_banned", [False, True])
def test_kernel_matches_reference(dtype, rows, vocab, with_banned):
    torch.manual_seed(rows * vocab)
    logits = (torch.randn(rows, vocab, device=DEVICE) * 4).to(dtype)
    logits[:, 0] = float("-inf")  # a row the model itself rules out
    banned = None
    if with_banned:
        # Banned rows keep finite logits (the mask, padded rows, specials): chosen never, normalised always.
        banned = torch.zeros(vocab, dtype=torch.bool, device=DEVICE)
        banned[1 :: 3] = True
        logits[:, 1] = 30.0  # the largest logit of every row is banned
    want = confidence_reference(logits, banned)
    got = confidence_triton(logits, banned)
    assert torch.equal(got[0], want[0]), "argmax differs"
    if banned is not None:
        assert not banned[got[0]].any(), "a banned token was chosen"
    for name, g, w in zip(("p_x0", "margin", "neg_entropy"), got[1:], want[1:]):
        assert_close(name, g, w, TOL[dtype] * (50 if name == "neg_entropy" else 1))


@needs_triton
def test_kernel_on_row_strided_input_and_a_fully_banned_block():
    big = torch.randn(6, 5000, device=DEVICE)
    view = big[::2]  # rows are strided, each row is contiguous
    banned = torch.zeros(5000, dtype=torch.bool, device=DEVICE)
    banned[:4096] = True  # the whole first block of every row is banned
    view[:, 7] = 12.0
    want = confidence_reference(view, banned)
    got = confidence_triton(view, banned)
    assert torch.equal(got[0], want[0])
    for g, w in zip(got[1:], want[1:]):
        assert_close("row-strided", g, w, 1e-4)


@needs_triton
def test_kernel_rejects_column_strided_input():
    with pytest.raises(AssertionError, match="contiguous"):
        confidence_triton(torch.randn(10, 4).t())


def test_reference_values():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.2]]))
    x0, p, margin, negent = confidence_reference(logits)
    assert x0.item() == 0 and p.item() == pytest.approx(0.5) and margin.item() == pytest.approx(0.2)
    assert negent.item() == pytest.approx(sum(q * torch.log(torch.tensor(q)).item() for q in (0.5, 0.3, 0.2)))


def test_banned_rows_stay_in_the_normaliser_and_are_never_chosen():
    # Row 0's best token is banned and holds most of the mass; the allowed best is then 0.2 of it.
    logits = torch.log(torch.tensor([[0.6, 0.2, 0.15, 0.05], [0.1, 0.5, 0.3, 0.1]]))
    banned = torch.tensor([True, False, False, False])
    x0, p, margin, negent = confidence_reference(logits, banned)
    assert x0.tolist() == [1, 1]
    assert p.tolist() == pytest.approx([0.2, 0.5])  # softmax over all four rows, not renormalised
    assert margin.tolist() == pytest.approx([0.05, 0.2])
    full = logits.softmax(-1)
    assert negent.tolist() == pytest.approx((full * full.log()).sum(-1).tolist())


def test_renormalising_without_the_banned_rows_would_change_the_ranking():
    # Two positions with near-equal confidence: B's banned rows hold more mass than A's. Over the full
    # softmax (as LLaDA's generate() computes it) A ranks first; with banned rows removed first, B would.
    a = torch.tensor([3.0, 2.0, 0.0, -9.0])
    b = torch.tensor([3.0, 1.0, 2.2, -9.0])
    logits = torch.stack([a, b])
    banned = torch.tensor([False, False, True, True])
    _, p_full, _, _ = confidence_reference(logits, banned)
    _, p_without, _, _ = confidence_reference(logits.masked_fill(banned, float("-inf")))
    assert p_full[0] > p_full[1]
    assert p_without[1] > p_without[0]
    assert p_full.tolist() == pytest.approx(logits.softmax(-1)[:, 0].tolist())


def test_dispatch_honours_the_override(monkeypatch):
    from canvasedit import kernels

    kernels.kernel_choice.cache_clear()
    monkeypatch.setenv("CANVASEDIT_KERNELS", "bogus")
    with pytest.raises(ValueError, match="CANVASEDIT_KERNELS"):
        greedy_confidence(torch.randn(2, 8))
    kernels.kernel_choice.cache_clear()
    monkeypatch.setenv("CANVASEDIT_KERNELS", "reference")
    out = greedy_confidence(torch.randn(2, 8))
    assert out[0].shape == (2,)
    kernels.kernel_choice.cache_clear()
