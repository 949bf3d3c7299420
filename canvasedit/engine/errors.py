"""Errors raised by the engine; each also subclasses the matching builtin.

The CLI prints ``str(error)`` as one line and exits with code 2; the editor shows it in a notification.
"""

from __future__ import annotations

from canvasedit.params import ParamsError


class EngineError(Exception):
    """Base class for every engine failure that is the caller's input, not a bug."""


class BadHole(EngineError, ValueError):
    """A hole lies outside the document, overlaps another, or has an impossible length."""


class ContextTooLong(EngineError, ValueError):
    """The holes (and the text between them) do not fit in the model's context window."""


class BadParams(EngineError, ParamsError):
    """Sampler parameters out of range (steps < 1, threshold outside [0, 1], …)."""


class NonFiniteLogits(EngineError, ArithmeticError):
    """The model returned NaN or infinite scores (broken weights, or overflow in a low-precision dtype)."""


class BackendUnavailable(EngineError, RuntimeError):
    """The requested device or backend cannot run here (no CUDA, missing llama-cpp-python, …)."""
