"""Engine benchmark: exact vs cached denoising side by side on the same weights, documents × holes.

For every model, document size and hole size it fills one hole in the middle of real Python source
(the standard library's) twice — once with the exact session (the whole canvas every step), once
with the cached one (``cache="dual"`` for bidirectional models) — and prints ms per step, committed
tokens/s, NFE, canvas rows computed per step, token agreement of the cached fill with the exact
one, and each run's peak RSS (every run is its own process). ``--parallel`` instead compares
threshold (parallel) decoding with one token per step: NFE and agreement. ``--backends`` adds the
model exported to GGUF and run by llama.cpp (which has no cache for diffusion models). Random
checkpoints in the real format are written to a temporary folder; ``bundled`` is the default model.
It prints numbers; it is not a test.

    canvasedit bench                                         # tiny + bundled, 256/1k/4k tokens × 8/32/128
    canvasedit bench --models 100m --sizes 1024,4096 --holes 32 --steps 32
    canvasedit bench --models bundled --parallel 0.9,0.7,0.5 --holes 32
    canvasedit bench --models bundled --sizes 512 --backends native,gguf-f16,gguf-q8_0 --json
    canvasedit bench --device cuda --models 1b --sizes 256 --holes 256   # on a GPU machine
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import resource
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

MODELS = {
    "tiny": dict(d_model=64, n_layers=2, n_heads=4, n_kv_heads=4, mlp_hidden_size=96),
    "100m": dict(d_model=768, n_layers=12, n_heads=12, n_kv_heads=12, mlp_hidden_size=2048),
    "1b": dict(d_model=2048, n_layers=16, n_heads=16, n_kv_heads=16, mlp_hidden_size=5632),
}
"""Random LLaDA-layout checkpoints (the bundled tokenizer) of three sizes; ``bundled`` is the trained default."""


def _document_text(encode, tokens: int) -> str:
    """Real Python source (the standard library's) of at most ``tokens`` tokens."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    text = ""
    for name in ("inspect.py", "argparse.py", "typing.py", "dataclasses.py", "pathlib.py", "textwrap.py",
                 "pydoc.py", "tarfile.py", "subprocess.py", "shutil.py"):
        text += (stdlib / name).read_text(encoding="utf-8")
        if len(encode(text[: tokens * 8])) >= tokens:
            break
    lo, hi = 0, min(len(text), tokens * 8)
    while lo < hi:  # the longest prefix of the text that is at most `tokens` tokens
        mid = (lo + hi + 1) // 2
        if len(encode(text[:mid])) <= tokens:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo]


def _param_count(model_dir: Path) -> int:
    from safetensors import safe_open

    from canvasedit.models.loading import weight_files

    total = 0
    for file in weight_files(model_dir):
        with safe_open(str(file), framework="pt") as fh:
            for name in fh.keys():
                total += math.prod(fh.get_slice(name).get_shape())
    return total


def model_folder(model: str, folder: Path) -> Path:
    from canvasedit.models.catalog import bundled_path
    from canvasedit.models.synthetic import write_random_llada

    if model == "bundled":
        return bundled_path()
    model_dir = folder / model
    if not (model_dir / "config.json").exists():
        tok = bundled_path()
        write_random_llada(
            model_dir, tokenizer_dir=tok if (tok / "tokenizer.json").exists() else None,
            max_sequence_length=16384 + 256, init_std=0.02, **MODELS[model],
        )
    return model_dir


def run_one(args: dict) -> dict:
    """One fill in this process; ``args`` holds model, size, hole, layer (sampler settings), kind, device, dir."""
    from canvasedit.engine import Hole, SamplerParams, fill, open_backend
    from canvasedit.models.gguf_file import export_gguf
    from canvasedit.runtime import apply_threads

    apply_threads(args.get("threads", 0))
    folder = Path(args["dir"])
    model_dir = model_folder(args["model"], folder)
    target, kind = model_dir, args["kind"]
    if kind.startswith("gguf-"):
        target = folder / f"{args['model']}-{kind}.gguf"
        if not target.exists():
            export_gguf(model_dir, target, kind.removeprefix("gguf-"))
    t0 = time.perf_counter()
    backend = open_backend(target, device=args["device"])
    load_s = time.perf_counter() - t0
    size = min(args["size"], backend.max_length)
    text = _document_text(backend.encode, size - args["hole"])
    at = text.rfind("\n", 0, len(text) // 2) + 1
    params = SamplerParams.layered(backend.recipe, args["layer"])
    # A short fill first, so the timed one does not pay for first-call set-up (allocator, kernels).
    warm = _document_text(backend.encode, 64)
    fill(warm, [Hole(len(warm), len(warm), length=4)], backend, dataclasses.replace(params, steps=2)).run()
    run = fill(text, [Hole(at, at, length=args["hole"])], backend, params)
    result = run.run()
    times = [e.elapsed for e in result.trace]
    later = [b - a for a, b in itertools.pairwise(times)]
    committed = {str(c.offset): c.token for e in result.trace for c in e.committed}
    out = {
        "model": args["model"], "backend": kind, "device": backend.device, "doc_tokens": len(run.canvas.ids),
        "hole": args["hole"], "cache": params.cache.value, "threshold": params.threshold,
        "params_m": round(_param_count(model_dir) / 1e6, 1), "nfe": result.nfe, "steps": result.steps,
        "tokens_per_s": round(result.tokens_per_second, 2),
        "ms_per_step": round(1000 * result.elapsed / max(result.steps, 1), 2),
        "first_step_ms": round(1000 * times[0], 2) if times else None,
        "later_step_ms": round(1000 * statistics.median(later), 2) if later else None,
        "threads": torch.get_num_threads(),
        "fill_s": round(result.elapsed, 3), "load_s": round(load_s, 2),
        "rows_per_step": round(result.rows_computed / max(result.steps, 1), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "committed": committed,
    }
    reference = args.get("reference")
    if reference:
        same = sum(reference.get(k) == v for k, v in committed.items())
        out["agreement"] = round(same / max(len(reference), 1), 4)
    return out


def _subprocess(args: dict) -> dict:
    cmd = [sys.executable, "-m", "canvasedit", "bench", "--one", json.dumps(args)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError((proc.stderr.strip().splitlines() or ["no output"])[-1])
    return json.loads(proc.stdout.strip().splitlines()[-1])


HEADER = (f"{'model':<7} {'backend':<9} {'params':>7} {'tokens':>6} {'hole':>4} {'mode':<14} {'nfe':>4} "
          f"{'ms/step':>8} {'1st ms':>8} {'later ms':>8} {'fill s':>7} {'tok/s':>8} {'rows/step':>9} {'agree':>6} "
          f"{'speed-up':>8} {'later x':>7} {'peak RSS MB':>11}")
"""``ms/step`` is the fill's time over its steps; ``1st ms`` the first step (where a cached mode computes
the whole context), ``later ms`` the median of the others; ``later x`` compares those with exact;
``fill s`` the whole fill, every step."""


def _row(r: dict, mode: str, base: dict | None) -> str:
    agree = f"{r['agreement']:.3f}" if "agreement" in r else "-"
    speed = f"{base['ms_per_step'] / r['ms_per_step']:.1f}x" if base else "-"
    later = "-"
    if base and base.get("later_step_ms") and r.get("later_step_ms"):
        later = f"{base['later_step_ms'] / r['later_step_ms']:.1f}x"
    return (f"{r['model']:<7} {r['backend']:<9} {r['params_m']:>6}M {r['doc_tokens']:>6} {r['hole']:>4} {mode:<14} "
            f"{r['nfe']:>4} {r['ms_per_step']:>8} {r.get('first_step_ms') or '-':>8} {r.get('later_step_ms') or '-':>8} "
            f"{r['fill_s']:>7} {r['tokens_per_s']:>8} {r['rows_per_step']:>9.0f} {agree:>6} {speed:>8} {later:>7} {r['peak_rss_mb']:>11}")


def _integers(text: str) -> list[int]:
    """``--sizes 256,1024``: positive integers, comma-separated."""
    parts = text.split(",")
    if not all(part.strip().isdecimal() and int(part) > 0 for part in parts):
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}")
    return [int(part) for part in parts]


def _thresholds(text: str) -> list[float]:
    """``--parallel 0.9,0.7``: confidence thresholds in (0, 1], comma-separated ("" for none)."""
    if not text:
        return []
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if not values or not all(0 < v <= 1 for v in values):  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected comma-separated thresholds in (0, 1], got {text!r}")
    return values


def _names(allowed: Callable[[str], bool], what: str) -> Callable[[str], list[str]]:
    """A ``type=`` for a comma-separated list whose every item ``allowed`` accepts."""

    def parse(text: str) -> list[str]:
        names = text.split(",")
        if not all(allowed(name) for name in names):
            raise argparse.ArgumentTypeError(f"expected comma-separated {what}, got {text!r}")
        return names

    return parse


def _at_least(low: int) -> Callable[[str], int]:
    """A ``type=`` for an integer flag that must be at least ``low``."""

    def parse(text: str) -> int:
        try:
            value: int | None = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"expected an integer of at least {low}, got {text!r}")
        return value

    return parse


def _backend_kinds() -> list[str]:
    """``native``, and the model exported to GGUF in each type llama.cpp runs (``gguf-q8_0`` …)."""
    from canvasedit.models.gguf_file import EXPORT_TYPES

    return ["native", *(f"gguf-{t}" for t in EXPORT_TYPES)]


def build_parser(parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``canvasedit bench``'s flags; every value is checked here, before any model is written or loaded."""
    from canvasedit.params import CACHES

    p = parser_class(prog="canvasedit bench", description=__doc__.splitlines()[0])
    models = ", ".join([*MODELS, "bundled"])
    p.add_argument("--models", default="tiny,bundled", help="tiny, 100m, 1b (random weights) and/or bundled",
                   type=_names(lambda m: m in MODELS or m == "bundled", f"models out of {models}"))
    p.add_argument("--sizes", default="256,1024,4096", type=_integers,
                   help="document sizes in tokens (hole included)")
    p.add_argument("--holes", default="8,32,128", type=_integers, help="hole sizes in tokens")
    p.add_argument("--steps", type=_at_least(0), default=0,
                   help="denoising steps per fill (default: one per hole token)")
    p.add_argument("--cached", default="dual", choices=[c for c in CACHES if c != "exact"],
                   help="the cached mode to compare with exact ('dual')")
    p.add_argument("--parallel", default="", type=_thresholds,
                   help="thresholds to compare with one token per step, e.g. 0.9,0.7")
    p.add_argument("--recipe", action="store_true",
                   help="also run each fill with the model's own recipe for cache and threshold (what the editor uses)")
    kinds = _backend_kinds()
    p.add_argument("--backends", default="native",
                   type=_names(kinds.__contains__, f"backends out of {', '.join(kinds)}"),
                   help="native and/or gguf-TYPE (f32, f16, q8_0 …), comma-separated")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--threads", type=_at_least(0), default=0,
                   help="torch threads per run (default: as the editor chooses, half the cores)")
    p.add_argument("--json", action="store_true", help="print one JSON list of every run instead of the table")
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None, parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser) -> int:
    """Run the table; bad flags go to ``parser.error`` (the CLI's parser makes that one line and exit 2)."""
    from canvasedit.engine.device import resolve_device
    from canvasedit.engine.errors import BackendUnavailable

    p = build_parser(parser_class)
    a = p.parse_args(argv)
    if a.one is not None:
        print(json.dumps(run_one(json.loads(a.one))))
        return 0
    try:
        resolve_device(a.device)
    except BackendUnavailable as exc:
        p.error(f"--device: {exc}")
    runs = []
    if not a.json:
        print(HEADER, flush=True)
    with tempfile.TemporaryDirectory(prefix="canvasedit-bench-") as tmp:
        for model in a.models:
            for size in a.sizes:
                for hole in a.holes:
                    if hole >= size:
                        continue
                    steps = a.steps or hole
                    for kind in a.backends:
                        base = {"model": model, "size": size, "hole": hole, "kind": kind, "device": a.device,
                                "dir": tmp, "threads": a.threads,
                                "layer": {"steps": steps, "cache": "exact", "threshold": 0.0, "block_length": 0}}
                        try:
                            exact = _subprocess(base)
                        except RuntimeError as exc:
                            print(f"canvasedit bench: {model} {kind} {size}/{hole} failed: {exc}", file=sys.stderr)
                            return 1
                        variants = [("exact", exact)]
                        modes = [(a.cached, {"cache": a.cached})] if kind == "native" else []
                        if a.parallel:
                            modes = [(f"threshold {t}", {"threshold": t}) for t in a.parallel]
                        if a.recipe:
                            modes.append(("recipe", {"cache": None, "threshold": None}))  # unset: the recipe's values
                        for name, layer in modes:
                            args = {**base, "layer": {**base["layer"], **layer}, "reference": exact["committed"]}
                            variants.append((name, _subprocess(args)))
                        for name, r in variants:
                            runs.append({**{k: v for k, v in r.items() if k != "committed"}, "mode": name})
                            if not a.json:
                                print(_row(r, name, None if name == "exact" else exact), flush=True)
    if a.json:
        print(json.dumps(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
