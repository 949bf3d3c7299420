"""How many masked tokens to commit at each step, as the reference samplers spread them.

* ``Schedule.BLOCK`` (LLaDA ``get_num_transfer_tokens``): a block's masks are split evenly over its
  steps, the remainder going one each to the *first* steps (10 masks, 4 steps → 3, 3, 2, 2).
* ``Schedule.TIMESTEP`` (Dream ``diffusion_generate``): ``timesteps = linspace(1, eps, steps + 1)``;
  at step ``i`` commit ``int(n_masked · (1 − s/t))`` in float32, everything on the last step
  (16 masks over 8 steps → 1, 2, 2, 2, 2, 2, 2, 3).

The denoising loop calls ``tokens_to_commit`` with the *current* mask count, so revisions that
put masks back are absorbed; with no revision the counts equal the precomputed reference lists
``block_counts`` and ``timestep_counts``, which the tests compare against the reference code.
"""

from __future__ import annotations

import torch

from canvasedit.params import Schedule

__all__ = ["Schedule", "block_counts", "steps_per_stage", "timestep_counts", "tokens_to_commit"]


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
    timesteps = torch.linspace(1, eps, steps + 1)  # float32, as Dream builds it
    t, s = timesteps[step], timesteps[step + 1]
    return int(torch.tensor(float(n_masked), dtype=torch.float32) * (1 - s / t))


def steps_per_stage(total_steps: int, stages: int) -> list[int]:
    """Spread ``total_steps`` over semi-autoregressive stages (blocks), remainder first, at least 1 each."""
    base, remainder = divmod(total_steps, stages)
    return [max(1, base + (1 if i < remainder else 0)) for i in range(stages)]
