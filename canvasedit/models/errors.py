"""Errors raised by the models package; each also subclasses the matching builtin.

The CLI turns any ``ModelError`` into one stderr line and exit code 2; the TUI shows it in a
notification. Messages say what was expected, what was found, and how to fix it.
"""

from __future__ import annotations


class ModelError(Exception):
    """Base class for every model loading or lookup failure."""


class ModelNotFound(ModelError, FileNotFoundError):
    """The model folder or one of its required files does not exist."""


class BadModelConfig(ModelError, ValueError):
    """``config.json`` is missing, not JSON, or lacks fields the architecture needs."""


class UnsupportedArchitecture(ModelError, ValueError):
    """``config.json`` names an architecture no family in the registry implements."""


class BadWeights(ModelError, ValueError):
    """The weight files are missing tensors, carry unexpected ones, or have the wrong shapes."""
