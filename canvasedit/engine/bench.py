"""Engine benchmark: forward passes, committed tokens/s, ms per step and peak RSS of one fill.

"head rows x" is the forward pass's speed-up from applying the LM head only to the hole's rows
instead of every canvas row (measured in the same process, before/after as a ratio). With
``--backends``, the same checkpoint also runs exported to GGUF through llama.cpp, and "x native"
is its speed relative to the native backend on the same model and document.

Random LLaDA checkpoints in the real format (a tiny 2-layer one and a ~91M-parameter one) are
written to a temporary folder, or the bundled model is used (``--models bundled``), and loaded
through the normal backend; each configuration runs in its own process so that peak RSS is its
own. Prints a table; it is not a test.

    canvasedit bench                                   # tiny + 100m, documents of 256, 1k, 4k tokens
    canvasedit bench --models tiny --sizes 256 --steps 32 --threshold 0.9
    canvasedit bench --models 100m --sizes 256,1024 --backends native,gguf-f16,gguf-q8_0,gguf-q4_0
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import torch

from canvasedit.models.gguf_file import EXPORT_TYPES, export_gguf

MODELS = {
    "tiny": dict(d_model=64, n_layers=2, n_heads=4, n_kv_heads=4, mlp_hidden_size=96),
    "100m": dict(d_model=768, n_layers=12, n_heads=12, n_kv_heads=12, mlp_hidden_size=2048),
}
HOLE_TOKENS = 32


def _document_text(encode, tokens: int) -> str:
    """Real Python source (the standard library's) of at most ``tokens`` tokens."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    text = ""
    for name in ("inspect.py", "argparse.py", "typing.py", "dataclasses.py", "pathlib.py", "textwrap.py"):
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


def run_one(model: str, size: int, steps: int, threshold: float, folder: Path, kind: str = "native") -> dict:
    from canvasedit.engine import Hole, SamplerParams, fill, open_backend
    from canvasedit.models.catalog import bundled_path
    from canvasedit.models.synthetic import write_random_llada

    model_dir = bundled_path() if model == "bundled" else folder / model
    if not (model_dir / "config.json").exists():
        tok = bundled_path()
        write_random_llada(
            model_dir, tokenizer_dir=tok if (tok / "tokenizer.json").exists() else None,
            max_sequence_length=8192, init_std=0.02, **MODELS[model],
        )
    target = model_dir
    if kind.startswith("gguf-"):
        target = folder / f"{model}-{kind}.gguf"
        if not target.exists():
            export_gguf(model_dir, target, kind.removeprefix("gguf-"))
    t0 = time.perf_counter()
    backend = open_backend(target, device="cpu")
    load_s = time.perf_counter() - t0
    text = _document_text(backend.encode, size - HOLE_TOKENS)
    at = len(text) // 2
    at = text.rfind("\n", 0, at) + 1
    params = SamplerParams(steps=steps, threshold=threshold)
    run = fill(text, [Hole(at, at, length=HOLE_TOKENS)], backend, params)
    canvas_tokens = len(run.canvas.ids)
    result = run.run()
    n_params = _param_count(model_dir)
    # Before/after in one run: the LM head over every canvas row vs only the hole's rows.
    ids = run.canvas.ids[None]
    span = run.canvas.spans[0]
    rows = torch.arange(span.start, span.stop)
    timings = {}
    for name, call in (("all_rows", lambda: backend.logits(ids)[:, rows]), ("hole_rows", lambda: backend.logits(ids, rows))):
        call()
        t0 = time.perf_counter()
        for _ in range(3):
            call()
        timings[name] = (time.perf_counter() - t0) / 3
    return {
        "model": model, "backend": kind, "params_m": round(n_params / 1e6, 1), "doc_tokens": canvas_tokens,
        "nfe": result.nfe, "steps": result.steps, "tokens_per_s": round(result.tokens_per_second, 2),
        "ms_per_step": round(1000 * result.elapsed / max(result.steps, 1), 1),
        "fill_s": round(result.elapsed, 2), "load_s": round(load_s, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        # llama.cpp scores every row of a diffusion model whatever is asked, so the ratio means nothing there
        "head_speedup": round(timings["all_rows"] / timings["hole_rows"], 2) if kind == "native" else "-",
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="canvasedit bench", description=__doc__.splitlines()[0])
    p.add_argument("--models", default="tiny,100m",
                   help="tiny, 100m (random weights) and/or bundled (the default model)")
    p.add_argument("--sizes", default="256,1024,4096", help="document sizes in tokens (hole included)")
    p.add_argument("--steps", type=int, default=32)
    p.add_argument("--threshold", type=float, default=0.0)
    p.add_argument("--backends", default="native",
                   help=f"native and/or gguf-TYPE (TYPE: {', '.join(EXPORT_TYPES)}), comma-separated")
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--dir", type=Path, default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.one:
        print(json.dumps(run_one(a.models, int(a.sizes), a.steps, a.threshold, a.dir, a.backends)))
        return 0
    kinds = a.backends.split(",")
    for kind in kinds:
        if kind != "native" and kind.removeprefix("gguf-") not in EXPORT_TYPES:
            print(f"canvasedit bench: error: unknown backend {kind!r}", file=sys.stderr)
            return 2
    print(f"{'model':<6} {'backend':<10} {'params':>7} {'tokens':>7} {'nfe':>4} {'tok/s':>8} {'ms/step':>9} "
          f"{'fill s':>7} {'peak RSS MB':>12} {'head rows x':>11} {'x native':>8}")
    with tempfile.TemporaryDirectory(prefix="canvasedit-bench-") as tmp:
        for model in a.models.split(","):
            for size in a.sizes.split(","):
                native_ms = None
                for kind in kinds:
                    cmd = [sys.executable, "-m", "canvasedit", "bench", "--one", "--models", model, "--sizes", size,
                           "--steps", str(a.steps), "--threshold", str(a.threshold), "--dir", tmp,
                           "--backends", kind]
                    out = subprocess.run(cmd, capture_output=True, text=True)
                    if out.returncode != 0:
                        print(f"{model} {kind} {size}: failed: {out.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
                        return 1
                    r = json.loads(out.stdout.strip().splitlines()[-1])
                    if kind == "native":
                        native_ms = r["ms_per_step"]
                    ratio = f"{native_ms / r['ms_per_step']:.2f}" if native_ms else "-"
                    print(f"{r['model']:<6} {kind:<10} {r['params_m']:>6}M {r['doc_tokens']:>7} {r['nfe']:>4} "
                          f"{r['tokens_per_s']:>8} {r['ms_per_step']:>9} {r['fill_s']:>7} {r['peak_rss_mb']:>12} "
                          f"{r['head_speedup']:>11} {ratio:>8}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
