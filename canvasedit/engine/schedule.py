"""How many masked tokens to commit at each step, as the reference samplers spread them.

* ``Schedule.BLOCK`` (LLaDA ``get_num_transfer_tokens``): a block's masks are split evenly over its
  steps, the remainder going one each to the *first* steps (10 masks, 4 steps → 3, 3, 2, 2).
* ``Schedule.TIMESTEP`` (Dream ``diffusion_generate``): ``timesteps = linspace(1, eps, steps + 1)``;
  at step ``i`` commit ``int(n_masked · (1 − s/t))`` in float32, everything on the last step
  (16 masks over 8 steps → 1, 2, 2, 2, 2, 2, 2, 3).

* ``Schedule.MDLM`` (dllm ``MDLMSampler`` with the linear α scheduler): ``round(n_masked / steps_left)``
  (half to even), zero-count steps dropped (10 masks, 4 steps → 2, 3, 2, 3); blocks get
  ``ceil(steps / blocks)`` steps each.

The denoising loop calls ``tokens_to_commit`` with the *current* mask count, so revisions that
put masks back are absorbed; with no revision the counts equal the precomputed reference lists
``block_counts`` and ``timestep_counts``, which the tests compare against the reference code.
"""

from __future__ import annotations

import torch

from canvasedit.params import Schedule

__all__ = [
    "Schedule", "block_counts", "steps_per_stage", "timestep_counts", "tokens_to_commit", "transfer_probability",
]


def block_counts(n_masked: int, steps: int) -> list[int]:
    """LLaDA's precomputed per-step counts for one block (the reference, kept for tests and docs)."""
    base, remainder = divmod(n_masked, steps)
    return [base + (1 if i < remainder else 0) for i in range(steps)]


def timestep_counts(n_masked: int, steps: int, eps: float = 1e-3) -> list[int]:
    """Dream's counts when every step commits exactly what it is told (no hooks, no revision)."""
    out = []
    remaining = n_masked
    for i in range(steps):
        k = tokens_to_commit(Schedule.TIMESTEP, remaining, i, steps, eps)
        out.append(k)
        remaining -= k
    return out


def tokens_to_commit(schedule: Schedule, n_masked: int, step: int, steps: int, eps: float = 1e-3) -> int:
    """Tokens to commit at ``step`` (0-based) of ``steps`` when ``n_masked`` masks are left in the block."""
    if n_masked <= 0:
        return 0
    steps_left = steps - step
    if steps_left <= 1:
        return n_masked
    if schedule is Schedule.BLOCK:
        # ceil(remaining / steps_left) reproduces LLaDA's "remainder to the first steps" split.
        return -(-n_masked // steps_left)
    if schedule is Schedule.MDLM:
        # dllm: t = steps_left / steps, s = (steps_left − 1) / steps, α(t) = 1 − t evaluated in float32
        # by its scheduler, n = round(n_masked · (1 − (1 − α(s)) / (1 − α(t)))) half to even. The float
        # rounding decides the .5 cases (32 masks over 5 steps: 6, 6, 7, 6, 7), so it is kept exactly.
        t = torch.tensor(steps_left / steps, dtype=torch.float32)
        s_ = torch.tensor((steps_left - 1) / steps, dtype=torch.float32)
        keep = float((1 - (1 - s_)) / (1 - (1 - t)))
        return min(n_masked, round(n_masked * (1 - keep)))
    timesteps = torch.linspace(1, eps, steps + 1)  # float32, as Dream builds it
    t, s = timesteps[step], timesteps[step + 1]
    return int(torch.tensor(float(n_masked), dtype=torch.float32) * (1 - s / t))


def steps_per_stage(total_steps: int, stages: int, schedule: Schedule = Schedule.BLOCK) -> list[int]:
    """Spread ``total_steps`` over semi-autoregressive stages (blocks), remainder first, at least 1 each.

    dllm's MDLM sampler gives every block ``ceil(steps / blocks)`` steps instead.
    """
    if schedule is Schedule.MDLM:
        return [max(1, -(-total_steps // stages))] * stages
    base, remainder = divmod(total_steps, stages)
    return [max(1, base + (1 if i < remainder else 0)) for i in range(stages)]


def transfer_probability(schedule: Schedule, n_masked: int, step: int, steps: int, eps: float = 1e-3) -> float:
    """The chance that each masked position is committed at ``step`` (Dream's ``origin`` algorithm)."""
    if steps - step <= 1:
        return 1.0
    if schedule is Schedule.TIMESTEP:
        timesteps = torch.linspace(1, eps, steps + 1)
        return float(1 - timesteps[step + 1] / timesteps[step])
    return tokens_to_commit(schedule, n_masked, step, steps, eps) / max(n_masked, 1)
