"""Fused greedy confidence: the best allowed token, its probability, the top-2 margin and Σ p·log p per row.

The denoising step needs, for every masked row of ``logits (R, V)``, the most likely token and a
confidence. Done with plain PyTorch that is a softmax over V, a gather, a top-2 and an entropy —
several full passes over an ``R × V`` matrix (V = 126,464 for LLaDA-8B). The Triton kernel reads
each row once with an online softmax (running max, rescaled sums; Milakov & Gimelshein 2018) and
keeps the two largest *allowed* logits as it goes.

Banned rows (an LM head padded past the vocabulary, the mask token, special tokens that must never
reach a document) are never chosen, but they stay in the softmax's normaliser: LLaDA's
``generate()`` normalises over every row of the head, and the confidences that rank positions must
be the same numbers it computes, or near-ties commit in a different order.

    x0, p_x0, margin, neg_entropy = confidence_triton(logits, banned)     # CUDA (or TRITON_INTERPRET=1)
    x0, p_x0, margin, neg_entropy = confidence_reference(logits, banned)  # any device

Shapes and dtypes: ``logits (R, V)`` float32 / float16 / bfloat16, rows contiguous; ``banned (V,)``
bool or None; outputs ``x0 (R,)`` int64 and three ``(R,)`` float32 tensors: ``p_x0`` and ``margin``
(top-1 − top-2 allowed probability) over the full softmax, ``neg_entropy`` of the full distribution.
A row needs at least two allowed finite logits for the margin to be defined.
"""

from __future__ import annotations

import torch

from canvasedit.kernels._triton import tl, triton


def confidence_reference(
    logits: torch.Tensor, banned: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    probs = logits.float().softmax(-1)  # (R, V), normalised over every row, banned ones included
    allowed = probs if banned is None else probs.masked_fill(banned, -1.0)
    top2 = torch.topk(allowed, 2, dim=-1)
    x0 = top2.indices[:, 0]
    p_x0 = top2.values[:, 0]
    margin = top2.values[:, 0] - top2.values[:, 1]
    neg_entropy = torch.where(probs > 0, probs * torch.log(probs), torch.zeros_like(probs)).sum(-1)
    return x0, p_x0, margin, neg_entropy


@triton.jit
def _confidence_kernel(
    logits_ptr, stride_r, V, banned_ptr,
    x0_ptr, p_ptr, margin_ptr, negent_ptr,
    HAS_BANNED: tl.constexpr, BLOCK: tl.constexpr,
):
    row = tl.program_id(0)
    base = logits_ptr + row * stride_r
    offs = tl.arange(0, BLOCK)
    NEG_INF: tl.constexpr = float("-inf")
    m = tl.full([], NEG_INF, tl.float32)  # running max over every row (the softmax's shift)
    s = tl.zeros([], tl.float32)  # Σ exp(l - m)
    t = tl.zeros([], tl.float32)  # Σ exp(l - m) · (l - m)
    top1 = tl.full([], NEG_INF, tl.float32)  # the two largest allowed logits
    top2 = tl.full([], NEG_INF, tl.float32)
    arg = tl.zeros([], tl.int32)
    for start in range(0, V, BLOCK):
        idx = start + offs
        inside = idx < V
        x = tl.load(base + idx, mask=inside, other=NEG_INF).to(tl.float32)
        if HAS_BANNED:
            ban = tl.load(banned_ptr + idx, mask=inside, other=1) != 0
            a = tl.where(ban, NEG_INF, x)
        else:
            a = x
        # Softmax sums over every row. While everything seen is -inf the sums stay 0
        # (exp(-inf - -inf) would be nan; tl.where discards it).
        new_m = tl.maximum(m, tl.max(x, axis=0))
        empty = m == NEG_INF
        scale = tl.where(empty, 0.0, tl.exp(m - new_m))
        t = tl.where(empty, 0.0, scale * (t + (m - new_m) * s))
        finite = x != NEG_INF
        e = tl.where(finite, tl.exp(x - new_m), 0.0)
        t += tl.sum(tl.where(finite, e * (x - new_m), 0.0), axis=0)
        s = s * scale + tl.sum(e, axis=0)
        m = new_m
        # Top-2 of the allowed logits: when the block wins, the old best competes with the block's second.
        bmax = tl.max(a, axis=0)
        barg = tl.min(tl.where(a == bmax, idx, V), axis=0)  # first index of the block max
        bsecond = tl.max(tl.where(idx == barg, NEG_INF, a), axis=0)
        top2 = tl.where(bmax > top1, tl.maximum(top1, bsecond), tl.maximum(top2, bmax))
        arg = tl.where(bmax > top1, barg, arg)
        top1 = tl.maximum(top1, bmax)
    p = tl.exp(top1 - m) / s
    tl.store(x0_ptr + row, arg.to(tl.int64))
    tl.store(p_ptr + row, p)
    tl.store(margin_ptr + row, p - tl.exp(top2 - m) / s)
    tl.store(negent_ptr + row, t / s - tl.log(s))


def confidence_triton(
    logits: torch.Tensor, banned: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    assert logits.dim() == 2, f"expected logits (R, V), got shape {tuple(logits.shape)}"
    assert logits.stride(-1) == 1, "logits rows must be contiguous (stride 1 along V)"
    assert logits.dtype in (torch.float32, torch.float16, torch.bfloat16), f"unsupported dtype {logits.dtype}"
    R, V = logits.shape
    if banned is not None:
        assert banned.shape == (V,), f"banned must be (V,) = ({V},), got {tuple(banned.shape)}"
        assert banned.device == logits.device, f"banned is on {banned.device}, logits on {logits.device}"
        banned = banned.to(torch.int8).contiguous()
    x0 = torch.empty(R, dtype=torch.int64, device=logits.device)
    p, margin, negent = (torch.empty(R, dtype=torch.float32, device=logits.device) for _ in range(3))
    if R == 0:
        return x0, p, margin, negent
    block = min(4096, triton.next_power_of_2(V))
    _confidence_kernel[(R,)](
        logits, logits.stride(0), V, banned if banned is not None else logits,
        x0, p, margin, negent,
        HAS_BANNED=banned is not None, BLOCK=block, num_warps=8,
    )
    return x0, p, margin, negent
