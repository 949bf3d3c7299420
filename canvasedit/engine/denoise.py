"""The denoising loop: commit masked canvas positions step by step, yielding what each step did.

The loop knows token ids, a backend's logits and the sampler parameters — nothing of documents
or text. Positions to fill carry a *stage* (their semi-autoregressive block inside their hole);
stage ``b`` of every hole is filled together, jointly across holes, before stage ``b + 1``:

    for record in denoise(backend, ids, stage_of, params, generator):
        ...   # record.positions / tokens / confidences committed this step

Per step (LLaDA ``generate`` generalised to several holes): one forward pass scores every masked
position of the current and earlier stages; tokens are chosen (argmax or Gumbel-max); the
schedule's count of the most confident positions is committed, plus every position whose
probability clears ``threshold`` (Fast-dLLM). With ``revise_below`` set, tokens this fill
committed in earlier steps whose probability has fallen below it are masked again (dInfer's
remasking), each position at most ``max_revisions`` times so the loop always ends. A step whose
schedule commits nothing and has no threshold is skipped without a forward pass: the supported
models are not conditioned on time, so it could not change anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from canvasedit.engine.backends import Backend
from canvasedit.engine.sampling import (
    Remasking,
    SamplerParams,
    choose_tokens,
    confidence,
    filter_logits,
    select_positions,
)
from canvasedit.engine.schedule import steps_per_stage, tokens_to_commit, transfer_probability
from canvasedit.engine.session import ExactSession, Session
from canvasedit.kernels import greedy_confidence


@dataclass(frozen=True)
class StepRecord:
    step: int
    """1-based number of this denoising step."""
    positions: tuple[int, ...]
    """Canvas positions committed this step."""
    tokens: tuple[int, ...]
    confidences: tuple[float, ...]
    """Probability of each committed token when it was chosen."""
    remasked: tuple[int, ...]
    """Canvas positions masked again by revision this step."""
    nfe: int
    """Forward passes so far in this loop."""


def open_session(backend: Backend, ids: torch.Tensor) -> Session:
    """The backend's own session for this canvas, or an exact one for backends that keep no state."""
    opener = getattr(backend, "open_session", None)
    return opener(ids) if opener is not None else ExactSession(backend)


def planned_steps(stage_of: torch.Tensor, params: SamplerParams, masked: torch.Tensor | None = None) -> int:
    """Steps the schedule will take: each stage's share of ``steps``, but never more than its masks.

    ``masked (T,)`` marks the positions still masked (all hole positions when None). A threshold can
    finish in fewer steps, a revision can take more.
    """
    stages = int(stage_of.max().item()) + 1 if (stage_of >= 0).any() else 0
    if not stages:
        return 0
    counted = stage_of >= 0 if masked is None else (stage_of >= 0) & masked
    sizes = torch.bincount(stage_of[counted], minlength=stages).tolist()
    return sum(min(n, size) for n, size in zip(steps_per_stage(params.steps, stages, params.schedule), sizes))


def denoise(
    backend: Backend,
    ids: torch.Tensor,
    stage_of: torch.Tensor,
    params: SamplerParams,
    generator: torch.Generator | None = None,
) -> Iterator[StepRecord]:
    """Fill the masked positions of ``ids (T,)`` in place; ``stage_of (T,)`` is −1 outside the holes."""
    in_hole = stage_of >= 0
    if not in_hole.any():
        return
    n_stages = int(stage_of.max().item()) + 1
    session = open_session(backend, ids)
    try:
        yield from _steps(backend, session, ids, stage_of, in_hole, n_stages, params, generator)
    finally:
        session.close()


def _steps(
    backend: Backend,
    session: Session,
    ids: torch.Tensor,
    stage_of: torch.Tensor,
    in_hole: torch.Tensor,
    n_stages: int,
    params: SamplerParams,
    generator: torch.Generator | None,
) -> Iterator[StepRecord]:
    mask_id = backend.mask_id
    stage_steps = steps_per_stage(params.steps, n_stages, params.schedule)
    committed_here = torch.zeros_like(in_hole)
    revisions = torch.zeros(ids.shape, dtype=torch.long)
    step = nfe = 0
    for stage in range(n_stages):
        open_positions = in_hole & (stage_of <= stage)
        j = 0
        while True:
            masked = (ids == mask_id) & open_positions
            n_masked = int(masked.sum())
            if n_masked == 0:
                break
            k = tokens_to_commit(params.schedule, n_masked, j, stage_steps[stage], params.eps)
            chance = transfer_probability(params.schedule, n_masked, j, stage_steps[stage], params.eps)
            j += 1
            if k == 0 and params.threshold == 0 and params.algorithm is not Remasking.ORIGIN:
                continue
            rows = masked.nonzero().flatten()  # (R,)
            check = torch.zeros(0, dtype=torch.long)
            if params.revise_below > 0:
                check = (committed_here & (revisions < params.max_revisions)).nonzero().flatten()
            logits = session.logits(ids, torch.cat([rows, check]))  # (R + Rc, V)
            nfe += 1
            x0, p_x0, conf = _score(logits[: len(rows)], backend.banned, params, generator)
            if params.algorithm is Remasking.ORIGIN:
                # Dream's origin: every masked position independently, with the schedule's probability.
                draw = torch.rand(len(rows), generator=generator, device=conf.device)
                pick = (draw < chance).nonzero().flatten().cpu()
            else:
                pick = select_positions(conf, k, params.threshold, p_x0, params.alg_temp, generator).cpu()
            x0, p_x0 = x0.cpu(), p_x0.float().cpu()
            positions = rows[pick]
            ids[positions] = x0[pick]

            remasked = torch.zeros(0, dtype=torch.long)
            if len(check):
                p_now = logits[len(rows) :].softmax(-1).cpu().gather(-1, ids[check][:, None]).squeeze(-1)
                remasked = check[p_now < params.revise_below]
                ids[remasked] = mask_id
                revisions[remasked] += 1
                committed_here[remasked] = False
            committed_here[positions] = True
            step += 1
            yield StepRecord(
                step=step,
                positions=tuple(positions.tolist()),
                tokens=tuple(x0[pick].tolist()),
                confidences=tuple(float(c) for c in p_x0[pick]),
                remasked=tuple(remasked.tolist()),
                nfe=nfe,
            )


def _score(
    logits: torch.Tensor, banned: torch.Tensor, params: SamplerParams, generator: torch.Generator | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Chosen tokens, their probabilities and the ranking confidence for masked rows ``logits (R, V)``.

    ``banned (V,)`` tokens are never chosen, but probabilities are normalised over every row, as
    the reference samplers compute them (LLaDA ``generate``: ``softmax(logits)`` over the whole head).
    """
    greedy = params.temperature == 0 and params.top_k == 0 and params.top_p == 1.0
    if greedy and params.algorithm not in (Remasking.RANDOM, Remasking.ORIGIN):
        # One fused pass over the vocabulary (a Triton kernel on CUDA) instead of softmax, gather and top-2.
        x0, p_x0, margin, neg_entropy = greedy_confidence(logits, banned)
        conf = {Remasking.LOW_CONFIDENCE: p_x0, Remasking.MARGIN: margin, Remasking.ENTROPY: neg_entropy}
        return x0, p_x0, conf[params.algorithm]
    filtered = filter_logits(logits, params.top_k, params.top_p)
    x0 = choose_tokens(filtered.masked_fill(banned, float("-inf")), params.temperature, generator)  # (R,)
    probs = filtered.softmax(-1)
    return x0, probs.gather(-1, x0[:, None]).squeeze(-1), confidence(probs, x0, params.algorithm, generator, banned)
