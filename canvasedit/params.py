"""Sampler parameters: the one definition the config file, the CLI, the family recipes and the engine share.

Torch-free, so ``config.toml`` can be read and the CLI parsed without loading a model. Settings
come in *layers*, each a mapping from field name to value where a missing key (or None) means
"unset — use the layer below":

    params = SamplerParams.layered(family.recipe, settings.sampler, {"steps": 16})
    #        built-in defaults ← the model family's recipe ← config.toml [sampler] ← command-line flags

``steps`` means the same everywhere: denoising steps for the whole fill — every block of every
hole together, as LLaDA's ``generate(steps=…)`` and Dream's ``diffusion_generate(steps=…)`` count
them. A fill never takes more steps than it has masked tokens to commit.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class ParamsError(ValueError):
    """A sampler parameter of the wrong type or out of range; the message names the key."""


class Remasking(enum.Enum):
    """Which still-masked positions are committed first."""

    LOW_CONFIDENCE = "low_confidence"
    """Highest probability of the chosen token first (LLaDA low_confidence, Dream maskgit_plus)."""
    MARGIN = "margin"
    """Largest gap between the two most likely tokens first (Dream topk_margin)."""
    ENTROPY = "entropy"
    """Lowest entropy first, ranked by Σ p·log p (Dream entropy)."""
    RANDOM = "random"
    """Uniformly random order (LLaDA random)."""
    ORIGIN = "origin"
    """Each masked position independently with the schedule's probability (Dream origin: 1 − s/t)."""


class Schedule(enum.Enum):
    """How many masked tokens each step commits."""

    BLOCK = "block"
    """LLaDA: a block's masks split evenly over its steps, the remainder on the first steps."""
    TIMESTEP = "timestep"
    """Dream: ``int(n_masked · (1 − s/t))`` on ``linspace(1, eps, steps + 1)``, in float32."""
    MDLM = "mdlm"
    """dllm's MDLM sampler (linear α): ``round(n_masked / steps_left)``, ``ceil(steps / blocks)`` per block."""


class Cache(enum.Enum):
    """What a step recomputes."""

    EXACT = "exact"
    """The whole canvas every step (as the reference samplers do): slow on long documents, exact."""
    DUAL = "dual"
    """The holes' rows only, attending to the rest of the canvas's keys and values computed once and
    refreshed on a schedule (Fast-dLLM's dual cache): approximate for bidirectional models."""
    AUTO = "auto"
    """Dual for a fill whose holes hold at most ``AUTO_DUAL_TOKENS`` tokens, exact for longer ones: the
    share where the bundled model's dual fills measured the same tokens as exact (README, "Speed")."""


AUTO_DUAL_TOKENS = 32
"""With ``cache = "auto"``: the most hole tokens a fill may have and still use the dual cache."""


def uses_dual_cache(cache: Cache, hole_tokens: int) -> bool:
    """Whether a fill of ``hole_tokens`` masked tokens in all runs on the dual cache with this setting."""
    return cache is Cache.DUAL or (cache is Cache.AUTO and hole_tokens <= AUTO_DUAL_TOKENS)


ALGORITHMS = tuple(r.value for r in Remasking)
SCHEDULES = tuple(s.value for s in Schedule)
CACHES = tuple(c.value for c in Cache)


@dataclass(frozen=True)
class SamplerParams:
    """Every setting of one fill; the built-in defaults are the bottom layer."""

    steps: int = 32
    """Denoising steps for the whole fill (all blocks of all holes); more steps commit fewer tokens each."""
    block_length: int = 0
    """Semi-autoregressive block length inside each hole, filled left to right; 0 = each hole as one block."""
    algorithm: Remasking = Remasking.LOW_CONFIDENCE
    """Which masked positions to commit first: low_confidence, margin, entropy, random or origin."""
    schedule: Schedule = Schedule.BLOCK
    """How many tokens each step commits: block (LLaDA), timestep (Dream) or mdlm (dllm)."""
    temperature: float = 0.0
    """0 picks the most likely token (deterministic); above 0 samples with Gumbel-max noise."""
    top_k: int = 0
    """Keep only the k most likely tokens before sampling; 0 = off."""
    top_p: float = 1.0
    """Nucleus filtering before sampling; 1 = off."""
    threshold: float = 0.0
    """Also commit every masked position whose probability is at least this (Fast-dLLM); 0 = off."""
    alg_temp: float = 0.0
    """Above 0, draw the positions to commit from softmax(confidence / alg_temp) instead of the top-k (Dream)."""
    revise_below: float = 0.0
    """Re-mask tokens committed earlier in this fill whose probability fell below this; 0 = off."""
    max_revisions: int = 1
    """How often one position may be re-masked, so revision always ends."""
    cache: Cache = Cache.EXACT
    """exact: every step reads the whole canvas; dual: only the holes, against cached context (faster);
    auto: dual for holes of up to 32 tokens in all, exact for longer ones."""
    cache_refresh: int = 0
    """With the dual cache: recompute the whole canvas every this many steps; 0 = only when a new block starts."""
    cache_band: int = 0
    """With the dual cache: also recompute this many context tokens on each side of every hole."""
    context: int = 0
    """Tokens of the document the model reads around the holes (more is slower); 0 = all the model can read."""
    expand_budget: int = 64
    """Tokens the holes of one fill may grow by, for models that grow holes as they fill them (DreamOn)."""
    seed: int = 0
    """Seed of the fill's random generator, so a fill can be reproduced."""
    eps: float = 1e-3
    """Final timestep of the timestep schedule (Dream's ``eps``)."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            kind = _types()[f.name]
            if isinstance(kind, type) and issubclass(kind, enum.Enum):
                if not isinstance(value, kind):
                    try:
                        object.__setattr__(self, f.name, kind(value))
                    except ValueError:
                        choices = ", ".join(m.value for m in kind)
                        raise ParamsError(f"{f.name} must be one of {choices}, found {_describe(value)}") from None
                continue
            ok = type(value) is kind or (kind is float and type(value) is int)
            if not ok:  # bool is an int, hence `type(...) is` rather than isinstance
                raise ParamsError(f"{f.name} must be {_KIND[kind]}, found {_describe(value)}")
            if kind is float:
                object.__setattr__(self, f.name, float(value))
        self._check()

    def _check(self) -> None:
        rules = (
            ("steps", 1 <= self.steps <= 1_000_000, "an integer in [1, 1000000]"),
            ("block_length", 0 <= self.block_length <= 1_000_000, "an integer >= 0 (0 = the whole hole)"),
            ("temperature", math.isfinite(self.temperature) and self.temperature >= 0, "a finite number >= 0"),
            ("top_k", self.top_k >= 0, "an integer >= 0 (0 = off)"),
            ("top_p", 0.0 < self.top_p <= 1.0, "a number in (0, 1]"),
            ("threshold", 0.0 <= self.threshold <= 1.0, "a number in [0, 1] (0 = off)"),
            ("alg_temp", math.isfinite(self.alg_temp) and self.alg_temp >= 0, "a finite number >= 0 (0 = top-k)"),
            ("revise_below", 0.0 <= self.revise_below <= 1.0, "a number in [0, 1] (0 = off)"),
            ("max_revisions", 0 <= self.max_revisions <= 1000, "an integer in [0, 1000]"),
            ("expand_budget", 0 <= self.expand_budget <= 100_000, "an integer in [0, 100000]"),
            ("cache_refresh", 0 <= self.cache_refresh <= 1_000_000, "an integer >= 0 (0 = once per block)"),
            ("cache_band", 0 <= self.cache_band <= 100_000, "an integer >= 0"),
            ("context", 0 <= self.context <= 1 << 24, "an integer >= 0 (0 = the model's whole context)"),
            ("seed", 0 <= self.seed < 2**63, "an integer in [0, 2^63)"),
            ("eps", 0.0 < self.eps < 1.0, "a number in (0, 1)"),
        )
        for name, ok, expected in rules:
            if not ok:  # NaN fails every comparison, so it lands here too
                raise ParamsError(f"{name} must be {expected}, found {_describe(getattr(self, name))}")

    @classmethod
    def layered(cls, *layers: Mapping[str, Any] | None) -> SamplerParams:
        """The built-in defaults overridden by each layer in turn; unset keys fall through.

        Raises ``ParamsError`` for an unknown key or a bad value, naming it.
        """
        values: dict[str, Any] = {}
        for layer in layers:
            for key, value in (layer or {}).items():
                if key not in _types():
                    raise ParamsError(f"unknown sampler setting {key!r}; known: {', '.join(_types())}")
                if value is not None:
                    values[key] = value
        return cls(**values)

    def layer(self) -> dict[str, Any]:
        """Every field as a plain value (enums as their strings), e.g. for JSON or TOML."""
        return {k: (v.value if isinstance(v, enum.Enum) else v) for k, v in dataclasses.asdict(self).items()}


def check_layer(layer: Mapping[str, Any]) -> dict[str, Any]:
    """A partial layer (``config.toml``'s ``[sampler]``) checked key by key; returns it with plain values."""
    full = SamplerParams.layered(layer).layer()
    return {key: full[key] for key, value in layer.items() if value is not None}


@functools.cache
def _types() -> dict[str, Any]:
    # Annotations are strings under `from __future__ import annotations`; resolve them once.
    hints = typing.get_type_hints(SamplerParams)
    return {f.name: hints[f.name] for f in dataclasses.fields(SamplerParams)}


_KIND = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
_DESCRIBE = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", dict: "a table", list: "an array"}


def _describe(value: object) -> str:
    """``an integer (3)``, ``a string ('x')``: what was found, for messages."""
    kind = _DESCRIBE.get(type(value), type(value).__name__)
    return kind if isinstance(value, (dict, list)) else f"{kind} ({value!r})"
