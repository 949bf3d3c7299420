"""The denoising loop: commit masked canvas positions step by step, yielding what each step did.

The loop knows token ids, a backend's logits and the sampler parameters — nothing of documents
or text. Positions to fill carry a *stage* (their semi-autoregressive block inside their hole);
stage ``b`` of every hole is filled together, jointly across holes, before stage ``b + 1``:

    work = Work(ids, stage_of)
    for record in denoise(backend, work, params, generator):
        ...   # record.positions / tokens / confidences committed this step; work.ids is the canvas

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
from canvasedit.engine.errors import NonFiniteLogits
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
    rows_computed: int = 0
    """Canvas positions run through the model so far in this loop (the session's cost)."""
    resized: tuple[tuple[int, int], ...] = ()
    """Variable-length holes (DreamOn), applied after the commits, right to left: ``(p, +1)`` — the
    expand token committed at p became two masks; ``(p, -1)`` — the end token committed at p was deleted."""


@dataclass
class Work:
    """The canvas being denoised: ``ids (T,)`` and each position's stage (−1 outside the holes).

    Both tensors are replaced when a variable-length hole grows or shrinks, so read them after the loop.
    """

    ids: torch.Tensor
    stage_of: torch.Tensor


def open_session(backend: Backend, work: Work, params: SamplerParams) -> Session:
    """The backend's own session for this canvas, or an exact one for backends that keep no state.

    The session is told which positions the fill may change (the holes) and nothing of how the
    loop will proceed; what it caches is its own business.
    """
    opener = getattr(backend, "open_session", None)
    if opener is None:
        return ExactSession(backend)
    return opener(work.ids, params, work.stage_of >= 0)


def check_finite(logits: torch.Tensor) -> None:
    """Raise ``NonFiniteLogits`` unless every row of ``logits (R, V)`` has a finite maximum.

    One reduction per step: ``amax`` propagates NaN, and a row whose best score is +inf or
    -inf says nothing about which token is likely. Without this, all-NaN weights commit
    arbitrary tokens (often end tokens, so the holes come back empty) and the fill "succeeds".
    """
    best = logits.amax(-1)  # (R,)
    bad = ~torch.isfinite(best)
    if bool(bad.any()):
        raise NonFiniteLogits(
            f"the model scored {int(bad.sum())} of {len(best)} masked positions as NaN or infinity: its weights "
            f"hold NaN/inf values or its activations overflow; nothing was filled"
        )


def planned_steps(stage_of: torch.Tensor, params: SamplerParams, masked: torch.Tensor | None = None) -> int:
    """Steps the schedule will take: each stage's share of ``steps``, but never more than its masks.

    ``masked (T,)`` marks the positions still masked (all hole positions when None). A threshold can
    finish in fewer steps, a revision or a growing hole can take more.
    """
    stages = int(stage_of.max().item()) + 1 if (stage_of >= 0).any() else 0
    if not stages:
        return 0
    counted = stage_of >= 0 if masked is None else (stage_of >= 0) & masked
    sizes = torch.bincount(stage_of[counted], minlength=stages).tolist()
    return sum(min(n, size) for n, size in zip(steps_per_stage(params.steps, stages, params.schedule), sizes))


def denoise(
    backend: Backend,
    work: Work,
    params: SamplerParams,
    generator: torch.Generator | None = None,
    session: Session | None = None,
) -> Iterator[StepRecord]:
    """Fill the masked positions of ``work.ids`` in place, stage by stage, yielding each step.

    ``session`` is one the caller opened (and already used, e.g. to score a revision); the loop
    closes it when it ends.
    """
    session = session or open_session(backend, work, params)
    try:
        if (work.stage_of >= 0).any():
            yield from _steps(backend, session, work, params, generator)
    finally:
        session.close()


def _steps(
    backend: Backend,
    session: Session,
    work: Work,
    params: SamplerParams,
    generator: torch.Generator | None,
) -> Iterator[StepRecord]:
    mask_id = backend.mask_id
    n_stages = int(work.stage_of.max().item()) + 1
    stage_steps = steps_per_stage(params.steps, n_stages, params.schedule)
    committed_here = torch.zeros(work.ids.shape, dtype=torch.bool)
    revisions = torch.zeros(work.ids.shape, dtype=torch.long)
    expand = getattr(backend, "expand_id", None)
    deletes = [t for t in backend.stop_ids if t not in backend.end_ids]
    budget = params.expand_budget if expand is not None else 0
    step = nfe = 0
    for stage in range(n_stages):
        j = 0
        while True:
            ids, stage_of = work.ids, work.stage_of
            masked = (ids == mask_id) & (stage_of >= 0) & (stage_of <= stage)
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
            check_finite(logits)
            banned = backend.banned
            if expand is not None and (budget <= 0 or len(ids) >= backend.max_length):
                banned = banned.clone()  # DreamOn: no more room to grow
                banned[expand] = True
            x0, p_x0, conf = _score(logits[: len(rows)], banned, params, generator)
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
            resized: list[tuple[int, int]] = []
            if expand is not None:
                budget, resized = _resize(work, positions, expand, deletes, mask_id, budget, backend.max_length)
                for p, delta in resized:  # keep the per-position bookkeeping aligned with the canvas
                    committed_here, revisions = _edit(committed_here, p, delta), _edit(revisions, p, delta)
            step += 1
            yield StepRecord(
                step=step,
                positions=tuple(positions.tolist()),
                tokens=tuple(x0[pick].tolist()),
                confidences=tuple(float(c) for c in p_x0[pick]),
                remasked=tuple(remasked.tolist()),
                nfe=nfe,
                rows_computed=session.rows_computed,
                resized=tuple(resized),
            )


def _edit(t: torch.Tensor, p: int, delta: int) -> torch.Tensor:
    """``t`` with position p duplicated (delta +1, the copy reset to zero) or removed (delta −1)."""
    if delta > 0:
        return torch.cat([t[:p], torch.zeros_like(t[:1]), torch.zeros_like(t[:1]), t[p + 1 :]])
    return torch.cat([t[:p], t[p + 1 :]])


def _resize(
    work: Work, committed: torch.Tensor, expand: int, deletes: list[int], mask_id: int, budget: int, max_len: int
) -> tuple[int, list[tuple[int, int]]]:
    """DreamOn's variable-length holes (its ``generation_utils.py``): a committed end token is deleted,
    shrinking its hole; a committed ``<|expand|>`` becomes two masks, growing it, while budget and
    context last. Right to left, so each edit leaves the positions before it in place."""
    edits = []
    for p in sorted(committed.tolist(), reverse=True):
        token = int(work.ids[p])
        if token in deletes:
            delta = -1
        elif token == expand and budget > 0 and len(work.ids) < max_len:
            delta = +1
            budget -= 1
        else:
            continue
        stage = work.stage_of[p : p + 1]
        if delta > 0:
            masks = torch.full((2,), mask_id, dtype=work.ids.dtype)
            work.ids = torch.cat([work.ids[:p], masks, work.ids[p + 1 :]])
            work.stage_of = torch.cat([work.stage_of[:p], stage, stage, work.stage_of[p + 1 :]])
        else:
            work.ids = torch.cat([work.ids[:p], work.ids[p + 1 :]])
            work.stage_of = torch.cat([work.stage_of[:p], work.stage_of[p + 1 :]])
        edits.append((p, delta))
    return budget, edits


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
