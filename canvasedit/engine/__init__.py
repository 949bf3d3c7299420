"""The CanvasEdit engine: canvases with holes, masked-diffusion samplers, streaming fills, backends.

Knows nothing of Textual. The public API::

    from canvasedit.engine import Hole, SamplerParams, fill, open_backend
    backend = open_backend("path/to/model")
    result = fill(text, [Hole(10, 10, length=8)], backend, SamplerParams(steps=8)).run()
"""

from canvasedit.engine.backends import Backend, open_backend
from canvasedit.engine.canvas import Hole
from canvasedit.engine.errors import BackendUnavailable, BadHole, BadParams, ContextTooLong, EngineError
from canvasedit.engine.fill import FilledHole, FillResult, FillRun, Piece, StepEvent, fill
from canvasedit.params import ParamsError, Remasking, SamplerParams, Schedule

__all__ = [
    "Backend",
    "BackendUnavailable",
    "BadHole",
    "BadParams",
    "ContextTooLong",
    "EngineError",
    "FillResult",
    "FillRun",
    "FilledHole",
    "ParamsError",
    "Hole",
    "Piece",
    "Remasking",
    "SamplerParams",
    "Schedule",
    "StepEvent",
    "fill",
    "open_backend",
]
