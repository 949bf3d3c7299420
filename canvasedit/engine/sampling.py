"""The pure tensor helpers of one denoising step; the parameters are ``canvasedit.params.SamplerParams``.

The helpers work on whole ``(R, V)`` tensors (R = canvas rows being scored this step), never per
row in Python:

    logits = filter_logits(logits, top_k=50, top_p=0.95)
    x0 = choose_tokens(logits, temperature, generator)          # Gumbel-max in float64 (LLaDA)
    conf = confidence(logits.softmax(-1), x0, Remasking.MARGIN, generator)
    picks = select_positions(conf, k, threshold)

References: LLaDA ``generate.py`` (Gumbel noise in float64, arXiv:2409.02908; low_confidence /
random remasking), Dream ``generation_utils.py`` (maskgit_plus / topk_margin / entropy, top-p
and top-k filtering), Fast-dLLM (confidence-threshold parallel decoding).
"""

from __future__ import annotations

import torch

from canvasedit.engine.errors import BadParams
from canvasedit.params import Remasking, SamplerParams

__all__ = ["Remasking", "SamplerParams", "choose_tokens", "confidence", "filter_logits", "select_positions"]


def filter_logits(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Top-k then top-p filtering of ``logits (R, V)``; filtered entries become the dtype's minimum (Dream)."""
    floor = torch.finfo(logits.dtype).min
    if top_k and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]  # (R, 1)
        logits = logits.masked_fill(logits < kth, floor)
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        drop_sorted = cumulative > top_p
        drop_sorted[..., 1:] = drop_sorted[..., :-1].clone()  # keep the token that crosses top_p
        drop_sorted[..., 0] = False
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, floor)
    return logits


def choose_tokens(logits: torch.Tensor, temperature: float, generator: torch.Generator | None) -> torch.Tensor:
    """Token per row ``(R,)``: argmax at temperature 0, else Gumbel-max sampling in float64.

    LLaDA computes ``argmax(exp(l) / (−log u)^T)``; its log, ``l − T·log(−log u)``, has the same
    argmax and cannot overflow.
    """
    if temperature == 0:
        return logits.argmax(-1)
    u = torch.rand(logits.shape, dtype=torch.float64, device=logits.device, generator=generator)
    u = u.clamp_min(torch.finfo(torch.float64).tiny)
    noisy = logits.double() - temperature * torch.log(-torch.log(u))
    return noisy.argmax(-1)


def confidence(
    probs: torch.Tensor,
    x0: torch.Tensor,
    how: Remasking,
    generator: torch.Generator | None = None,
    banned: torch.Tensor | None = None,
) -> torch.Tensor:
    """Confidence per row ``(R,)`` from ``probs (R, V)`` and the chosen tokens ``x0 (R,)``; higher = commit first.

    ``banned (V,)`` tokens cannot be chosen, so the margin is taken between the two best allowed ones.
    """
    if how is Remasking.LOW_CONFIDENCE:
        return probs.gather(-1, x0[:, None]).squeeze(-1)
    if how is Remasking.MARGIN:
        allowed = probs if banned is None else probs.masked_fill(banned, -1.0)
        top2 = torch.topk(allowed, 2, dim=-1).values
        return top2[:, 0] - top2[:, 1]
    if how is Remasking.ENTROPY:
        return (probs * torch.log(probs + 1e-10)).sum(-1)
    if how in (Remasking.RANDOM, Remasking.ORIGIN):  # origin picks positions by chance, not by rank
        return torch.rand(probs.shape[0], device=probs.device, generator=generator)
    raise BadParams(f"unknown remasking strategy {how!r}")


def select_positions(
    conf: torch.Tensor,
    k: int,
    threshold: float = 0.0,
    threshold_conf: torch.Tensor | None = None,
    alg_temp: float = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Row indices to commit: the ``k`` most confident (at least one), plus every row clearing ``threshold``.

    ``threshold_conf`` is what the threshold is compared with: the chosen token's probability, as in
    Fast-dLLM; it defaults to ``conf``. With ``alg_temp > 0`` the ``k`` rows are drawn without
    replacement from ``softmax(conf / alg_temp)`` instead (Dream).
    """
    R = conf.shape[0]
    chosen = torch.zeros(R, dtype=torch.bool, device=conf.device)
    if R == 0:
        return chosen.nonzero().flatten()
    n = min(max(k, 1), R)
    if alg_temp > 0:
        weights = (conf.double() / alg_temp).softmax(-1)
        chosen[torch.multinomial(weights, n, replacement=False, generator=generator)] = True
    else:
        chosen[torch.topk(conf, n).indices] = True
    if threshold > 0:
        chosen |= (threshold_conf if threshold_conf is not None else conf) >= threshold
    return chosen.nonzero().flatten()
