"""The dual-cache session (holes recomputed against cached context) against the exact one, and the
context budget."""

import dataclasses

import pytest
import torch

from canvasedit.engine import Hole, SamplerParams, fill
from canvasedit.engine.session import DualCacheSession
from canvasedit.params import Cache

TEXT = "import os\nimport sys\n\n\ndef main(argv):\n    return len(argv)\n\n\nclass Point:\n    pass\n" * 4


# Triton's CPU interpreter takes seconds per 100k-wide row: these tests use the PyTorch reference
# (the kernel itself is checked against it in tests/kernels).
pytestmark = pytest.mark.usefixtures("reference_kernels")


def exact_logits(model, ids, rows):
    with torch.no_grad():
        return model.lm_head(model.hidden(ids[None])[0, rows]).float()


def test_first_call_is_exact_and_later_calls_compute_only_the_window(tiny_backend):
    model = tiny_backend.model
    torch.manual_seed(0)
    ids = torch.randint(3, 300, (120,))
    window = torch.zeros(120, dtype=torch.bool)
    window[50:60] = True
    ids[window] = tiny_backend.mask_id
    session = DualCacheSession(model, window, band=0, refresh=0, shift=False, device=torch.device("cpu"))
    rows = torch.arange(50, 60)
    assert (session.logits(ids, rows) - exact_logits(model, ids, rows)).abs().max() < 1e-5
    assert session.rows_computed == 120 and session.refreshes == 1
    ids[55] = 42  # a committed token: the cached context did not see it, the hole rows do
    got = session.logits(ids, rows)
    assert session.rows_computed == 130 and session.refreshes == 1
    want = exact_logits(model, ids, rows)
    assert (got - want).abs().max() < 0.5  # close, not equal: the context keys are from before the commit
    # With the band covering the whole canvas, nothing is cached and every step is exact again.
    everything = DualCacheSession(model, window, band=120, refresh=0, shift=False, device=torch.device("cpu"))
    everything.logits(ids, rows)
    ids[56] = 43
    assert (everything.logits(ids, rows) - exact_logits(model, ids, rows)).abs().max() < 1e-5


def test_a_new_block_of_rows_and_the_refresh_interval_recompute_the_canvas(tiny_backend):
    ids = torch.randint(3, 300, (80,))
    window = torch.zeros(80, dtype=torch.bool)
    window[20:40] = True
    session = DualCacheSession(tiny_backend.model, window, band=0, refresh=3, shift=False, device=torch.device("cpu"))
    first, second = torch.arange(20, 30), torch.arange(30, 40)
    for _ in range(3):
        session.logits(ids, first)
    assert session.refreshes == 1
    session.logits(ids, second)  # rows never asked for before: a new block began
    assert session.refreshes == 2
    for _ in range(4):
        session.logits(ids, second)
    assert session.refreshes == 3  # every 3 cached steps


def test_dual_cache_fills_agree_with_exact_ones_on_the_bundled_model():
    from canvasedit.engine import open_backend
    from canvasedit.models.catalog import bundled_path

    backend = open_backend(bundled_path(), device="cpu")
    same = total = 0
    for at in (20, 90, 170, 240):
        at = TEXT.index("\n", at) + 1
        exact = fill(TEXT, [Hole(at, at, 16)], backend, SamplerParams(steps=16)).run()
        dual = fill(TEXT, [Hole(at, at, 16)], backend, SamplerParams(steps=16, cache=Cache.DUAL)).run()
        assert dual.rows_computed < exact.rows_computed / 3
        a = {c.offset: c.token for e in exact.trace for c in e.committed}
        b = {c.offset: c.token for e in dual.trace for c in e.committed}
        same += sum(a[k] == b[k] for k in a)
        total += len(a)
    assert same / total >= 0.9, f"agreement {same / total:.3f}"


def test_context_budget_caps_the_document_around_the_holes(tiny_backend):
    at = TEXT.index("class")
    full = fill(TEXT, [Hole(at, at, 8)], tiny_backend, SamplerParams(steps=4))
    capped = fill(TEXT, [Hole(at, at, 8)], tiny_backend, SamplerParams(steps=4, context=40))
    assert len(capped.canvas.ids) == 8 + 40 < len(full.canvas.ids)
    left, right = capped.canvas.context
    assert left + right == 40 and left > 0 and right > 0
    result = capped.run()
    assert result.text.startswith(TEXT[:at]) and result.text.endswith(TEXT[at:])


def test_auto_cache_is_dual_for_holes_of_up_to_32_tokens_and_exact_beyond(tiny_backend):
    from canvasedit.engine.session import ExactSession
    from canvasedit.params import AUTO_DUAL_TOKENS, uses_dual_cache

    assert AUTO_DUAL_TOKENS == 32
    assert uses_dual_cache(Cache.DUAL, 500) and not uses_dual_cache(Cache.EXACT, 1)
    ids = torch.randint(3, 300, (120,))
    params = SamplerParams(cache=Cache.AUTO, cache_band=8, cache_refresh=4)
    for tokens, kind in ((1, DualCacheSession), (32, DualCacheSession), (33, ExactSession), (80, ExactSession)):
        window = torch.zeros(120, dtype=torch.bool)
        window[10 : 10 + tokens] = True
        session = tiny_backend.open_session(ids, params, window)
        assert type(session) is kind, tokens
    assert SamplerParams(cache="auto").cache is Cache.AUTO  # the config file's and the CLI's spelling


def test_the_bundled_model_fills_short_holes_on_the_dual_cache_by_default_and_long_ones_exactly():
    from canvasedit.engine import open_backend
    from canvasedit.models.catalog import bundled_path

    backend = open_backend(bundled_path(), device="cpu")
    assert backend.recipe["cache"] == "auto"
    default = SamplerParams.layered(backend.recipe)
    exact = SamplerParams.layered(backend.recipe, {"cache": "exact"})
    text = TEXT * 3  # ~400 tokens: the context is most of the canvas, as in a real file
    at = text.index("\n", len(text) // 2) + 1
    for length, cached in ((16, True), (48, False)):
        holes = [Hole(at, at, length)]
        chosen = fill(text, holes, backend, dataclasses.replace(default, steps=length)).run()
        reference = fill(text, holes, backend, dataclasses.replace(exact, steps=length)).run()
        if cached:
            assert chosen.rows_computed < reference.rows_computed / 3
        else:
            assert chosen.rows_computed == reference.rows_computed
        assert chosen.text == reference.text  # short holes: the measured agreement, the same tokens
