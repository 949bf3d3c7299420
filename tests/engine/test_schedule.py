from hypothesis import given
from hypothesis import strategies as st

from canvasedit.engine.schedule import Schedule, block_counts, steps_per_stage, timestep_counts, tokens_to_commit


def llada_get_num_transfer_tokens(n: int, steps: int) -> list[int]:
    """LLaDA generate.py's get_num_transfer_tokens for one row, written out as in the reference."""
    base = n // steps
    remainder = n % steps
    counts = [base] * steps
    for i in range(remainder):
        counts[i] += 1
    return counts


def test_block_counts_spread_remainder_to_first_steps():
    assert block_counts(10, 4) == [3, 3, 2, 2]
    assert block_counts(32, 32) == [1] * 32
    assert block_counts(5, 8) == [1, 1, 1, 1, 1, 0, 0, 0]


def test_timestep_counts_match_dream_float32_truncation():
    # FACTS: 16 tokens over 8 steps commits 1,2,2,2,2,2,2,3.
    assert timestep_counts(16, 8) == [1, 2, 2, 2, 2, 2, 2, 3]
    assert sum(timestep_counts(37, 5)) == 37


@given(st.integers(0, 300), st.integers(1, 64))
def test_dynamic_block_count_equals_llada_reference(n, steps):
    remaining, got = n, []
    for i in range(steps):
        k = tokens_to_commit(Schedule.BLOCK, remaining, i, steps)
        got.append(k)
        remaining -= k
    assert got == llada_get_num_transfer_tokens(n, steps)
    assert remaining == 0


def test_last_step_commits_everything_left():
    assert tokens_to_commit(Schedule.TIMESTEP, 9, 3, 4) == 9
    assert tokens_to_commit(Schedule.BLOCK, 9, 7, 4) == 9  # past the plan (after revisions): all


def test_steps_per_stage():
    assert steps_per_stage(10, 3) == [4, 3, 3]
    assert steps_per_stage(2, 4) == [1, 1, 1, 1]
