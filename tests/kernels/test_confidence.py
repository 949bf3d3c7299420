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
def test_kernel_matches_reference(dtype, rows, vocab):
    torch.manual_seed(rows * vocab)
    logits = (torch.randn(rows, vocab, device=DEVICE) * 4).to(dtype)
    logits[:, 1] = float("-inf")  # banned tokens, as the backends ban the mask id
    want = confidence_reference(logits)
    got = confidence_triton(logits)
    assert torch.equal(got[0], want[0]), "argmax differs"
    for name, g, w in zip(("p_x0", "margin", "neg_entropy"), got[1:], want[1:]):
        assert_close(name, g, w, TOL[dtype] * (50 if name == "neg_entropy" else 1))


@needs_triton
def test_kernel_on_row_strided_input_and_a_fully_banned_block():
    big = torch.randn(6, 5000, device=DEVICE)
    view = big[::2]  # rows are strided, each row is contiguous
    view[:, :4096] = float("-inf")  # the whole first block of every row is banned
    want = confidence_reference(view)
    got = confidence_triton(view)
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
