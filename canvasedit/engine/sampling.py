"""Sampler parameters and the pure tensor helpers of one denoising step.

One frozen ``SamplerParams``; overrides go through ``dataclasses.replace``. The helpers work on
whole ``(R, V)`` tensors (R = canvas rows being scored this step), never per row in Python:

    logits = filter_logits(logits, top_k=50, top_p=0.95)
    x0 = choose_tokens(logits, temperature, generator)          # Gumbel-max in float64 (LLaDA)
    conf = confidence(logits.softmax(-1), x0, Remasking.MARGIN, generator)
    picks = select_positions(conf, k, threshold)

References: LLaDA ``generate.py`` (Gumbel noise in float64, arXiv:2409.02908; low_confidence /
random remasking), Dream ``generation_utils.py`` (maskgit_plus / topk_margin / entropy, top-p
and top-k filtering), Fast-dLLM (confidence-threshold parallel decoding).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import torch

from canvasedit.engine.errors import BadParams
from canvasedit.engine.schedule import Schedule


class Remasking(enum.Enum):
    """Which still-masked positions are committed first."""

    LOW_CONFIDENCE = "low_confidence"
    """Highest probability of the chosen token first (LLaDA low_confidence, Dream maskgit_plus)."""
    MARGIN = "margin"
    """Largest gap between the two most likely tokens first (Dream topk_margin)."""
    ENTROPY = "entropy"
    """Lowest entropy first, ranked by Σ p·log p (Dream entropy)."""
    RANDOM = "random"
    """Uniformly random order (LLaDA random)."""


@dataclass(frozen=True)
class SamplerParams:
    steps: int = 32
    """Denoising steps for the whole fill (all blocks together)."""
    block_length: int = 0
    """Semi-autoregressive block length inside each hole; 0 fills each hole as one block."""
    remasking: Remasking = Remasking.LOW_CONFIDENCE
    schedule: Schedule = Schedule.BLOCK
    temperature: float = 0.0
    """0 picks the argmax (deterministic); above 0 samples with Gumbel-max noise."""
    top_k: int = 0
    """Keep only the k most likely tokens before sampling; 0 is off."""
    top_p: float = 1.0
    """Nucleus filtering before sampling; 1.0 is off."""
    threshold: float = 0.0
    """Also commit every masked position whose confidence is at least this (Fast-dLLM); 0 is off."""
    revise_below: float = 0.0
    """Re-mask tokens committed earlier in this fill whose probability fell below this; 0 is off."""
    max_revisions: int = 1
    """How often one position may be re-masked, so revision always ends."""
    seed: int = 0
    eps: float = 1e-3
    """Final timestep of the TIMESTEP schedule (Dream's ``eps``)."""

    def validate(self) -> SamplerParams:
        if self.steps < 1:
            raise BadParams(f"steps must be at least 1, got {self.steps}")
        if self.block_length < 0:
            raise BadParams(f"block length must be 0 (off) or positive, got {self.block_length}")
        if self.temperature < 0:
            raise BadParams(f"temperature must be >= 0, got {self.temperature}")
        if self.top_k < 0:
            raise BadParams(f"top-k must be >= 0, got {self.top_k}")
        if not 0.0 < self.top_p <= 1.0:
            raise BadParams(f"top-p must be in (0, 1], got {self.top_p}")
        if not 0.0 <= self.threshold <= 1.0:
            raise BadParams(f"threshold must be in [0, 1], got {self.threshold}")
        if not 0.0 <= self.revise_below <= 1.0:
            raise BadParams(f"revise-below must be in [0, 1], got {self.revise_below}")
        if not 0.0 < self.eps < 1.0:
            raise BadParams(f"eps must be in (0, 1), got {self.eps}")
        return self


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
    if how is Remasking.RANDOM:
        return torch.rand(probs.shape[0], device=probs.device, generator=generator)
    raise BadParams(f"unknown remasking strategy {how!r}")


def select_positions(
    conf: torch.Tensor, k: int, threshold: float = 0.0, threshold_conf: torch.Tensor | None = None
) -> torch.Tensor:
    """Row indices to commit: the ``k`` most confident (at least one), plus every row clearing ``threshold``.

    ``threshold_conf`` is what the threshold is compared with: the chosen token's probability, as in
    Fast-dLLM; it defaults to ``conf``.
    """
    R = conf.shape[0]
    chosen = torch.zeros(R, dtype=torch.bool, device=conf.device)
    if R == 0:
        return chosen.nonzero().flatten()
    chosen[torch.topk(conf, min(max(k, 1), R)).indices] = True
    if threshold > 0:
        chosen |= (threshold_conf if threshold_conf is not None else conf) >= threshold
    return chosen.nonzero().flatten()


def params_from_settings(settings: Any) -> SamplerParams:
    """``SamplerParams`` from any object with the sampler settings' attributes (``config.SamplerSettings``).

    Duck-typed so the engine does not depend on the settings module; 0 means "off" for
    ``top_k``, ``threshold`` and ``revise_below`` in both.
    """
    return SamplerParams(
        steps=int(settings.steps),
        block_length=int(settings.block_length),
        remasking=Remasking(settings.algorithm),
        temperature=float(settings.temperature),
        top_k=int(settings.top_k),
        top_p=float(settings.top_p),
        threshold=float(settings.threshold),
        revise_below=float(settings.revise_below),
        seed=int(settings.seed),
    ).validate()
