"""The family registry: HF ``architectures`` string → the native class that implements it.

Add a row to ``ARCHITECTURES`` *and* a tiny-model fixture in ``tests/models`` for every new family.
Classes are imported lazily, so listing a family costs nothing until a model of it is loaded.
Built-in families are rows like any other; the shape leaves room for plugin-registered rows.
A family with a GGUF form names llama.cpp's architecture; ``resolve_gguf`` maps a GGUF back to it.

    family = resolve(json.load(open("config.json")))
    args = family.args_from_config(config); model = family.model_class()(args)
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from canvasedit.models.errors import UnsupportedArchitecture


@dataclass(frozen=True)
class Family:
    name: str
    """Short family name shown to users ("llada")."""
    module: str
    """Module that holds ``ModelArgs``, ``WEIGHT_MAP`` and the model class."""
    class_name: str
    shift_logits: bool
    """True when the logit at position i predicts token i+1 (Dream); the backend realigns."""
    gguf_arch: str | None = None
    """llama.cpp's ``general.architecture`` for this family, or None where it has no GGUF form."""
    end_of_turn: tuple[str, ...] = ()
    """Tokens that end an answer in the family's chat format; they end a hole like end / pad."""

    def module_object(self) -> Any:
        """The family's module: ``ModelArgs``, ``WEIGHT_MAP``, the model class and its GGUF tables."""
        return importlib.import_module(self.module)

    def model_class(self) -> type:
        return getattr(self.module_object(), self.class_name)

    def args_from_config(self, config: dict[str, Any]) -> Any:
        return self.module_object().ModelArgs.from_config(config)

    def weight_map(self) -> dict[str, str]:
        return self.module_object().WEIGHT_MAP


ARCHITECTURES: dict[str, Family] = {
    "LLaDAModelLM": Family("llada", "canvasedit.models.llada", "LLaDAModel", shift_logits=False, gguf_arch="llada",
                           end_of_turn=("<|eot_id|>",)),
}


def resolve_gguf(arch: str) -> Family:
    """The family for a GGUF file's ``general.architecture`` ("llada")."""
    for family in ARCHITECTURES.values():
        if family.gguf_arch == arch:
            return family
    supported = sorted(f.gguf_arch for f in ARCHITECTURES.values() if f.gguf_arch)
    raise UnsupportedArchitecture(
        f"unsupported GGUF architecture {arch!r}; the GGUF backend runs diffusion models of: {', '.join(supported)}"
    )


def resolve(config: dict[str, Any]) -> Family:
    """The family for a ``config.json``, chosen by its ``architectures`` list (never by folder name)."""
    names = config.get("architectures") or []
    for name in names:
        if name in ARCHITECTURES:
            if name == "LLaDAModelLM" and "num_experts" in config:
                raise UnsupportedArchitecture(
                    "LLaDA-MoE checkpoints (model_type 'llada' with experts) are not supported yet"
                )
            return ARCHITECTURES[name]
    found = ", ".join(names) if names else "no 'architectures' entry"
    raise UnsupportedArchitecture(
        f"unsupported model architecture: found {found}; supported: {', '.join(sorted(ARCHITECTURES))}"
    )
