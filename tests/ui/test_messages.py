"""Message rules that the drawing relies on."""

from __future__ import annotations

from canvasedit.engine.view import PassView
from canvasedit.ui.messages import FillCancelled, FillStep
from tests.ui.conftest import step_event


def event(step: int) -> PassView:
    return step_event(step, 8, ((),), nfe=step, elapsed=0.1 * step)


def test_an_undrawn_pass_is_replaced_only_by_a_later_pass_of_the_same_fill() -> None:
    first, second, other_fill = FillStep(1, event(1)), FillStep(1, event(2)), FillStep(2, event(1))
    assert first.can_replace(second)
    assert not first.can_replace(other_fill)
    assert not first.can_replace(FillCancelled(1))  # the end of a fill is never dropped


def test_worker_messages_do_not_bubble_past_the_screen() -> None:
    assert FillStep.bubble is False and FillCancelled.bubble is False
