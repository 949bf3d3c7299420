"""Does the cached (dual) session give the exact session's tokens on a trained model? And at what cost?

    python benchmarks/cache_agreement.py                        # bundled model, 6 documents × 256/512 × 8/32/128
    python benchmarks/cache_agreement.py --docs 3 --holes 32 --settings "0:0,16:0,32:16" --json
    python benchmarks/cache_agreement.py --holes 8+8,16+16,8+24 --settings 32:8   # two holes per fill

For each held-out document (Python standard-library modules the bundled model did not see in
training: ``json``, ``email``, ``http``, ``urllib``, ``zoneinfo``, ``tomllib``), each document size and
each hole size, a hole in the middle of the document (``A+B``: two holes, a third and two thirds of
the way down, filled together) is filled greedily once with the exact session
(the model's recipe: LLaDA's
commits block by block, 32 tokens each, and a new block refreshes the cache) and once per cache setting ``BAND:REFRESH`` (``cache_band`` context tokens recomputed on each side of
the holes; the context cache recomputed every ``REFRESH`` steps, 0 = never within a block). Prints,
per setting and hole size, the mean token agreement with exact (the fraction of the hole's positions
that got the same token), the share of fills that agree fully, and the fill's speed-up over exact
in the same run. The recipe's default cache setting is chosen from these numbers (README, "Speed").
It prints numbers; it is not a test.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import sysconfig
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from canvasedit.engine import Hole, SamplerParams, fill, open_backend
from canvasedit.models.catalog import bundled_path
from canvasedit.params import Cache

HELD_OUT = ("json", "email", "http", "urllib", "zoneinfo", "tomllib")


def documents(encode, count: int, tokens: int) -> list[str]:
    """``count`` held-out source files, each cut to its first ``tokens`` tokens (whole lines)."""
    lib = Path(sysconfig.get_paths()["stdlib"])
    files = [f for pkg in HELD_OUT for f in sorted((lib / pkg).glob("*.py")) if f.stat().st_size > 6000]
    docs = []
    for file in files[:: max(1, len(files) // count)][:count]:
        lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
        text = ""
        for line in lines:
            if len(encode(text + line)) > tokens:
                break
            text += line
        docs.append(text)
    return docs


def one_fill(backend, text: str, sizes: tuple[int, ...], params: SamplerParams) -> tuple[list[int], float, int]:
    """Holes of ``sizes`` tokens at the line starts before 1/(n+1), 2/(n+1) … of the text (one: the middle)."""
    starts = [text.rfind("\n", 0, len(text) * (k + 1) // (len(sizes) + 1)) + 1 for k in range(len(sizes))]
    run = fill(text, [Hole(at, at, length=n) for at, n in zip(starts, sizes)], backend, params)
    t0 = time.perf_counter()
    result = run.run()
    elapsed = time.perf_counter() - t0
    committed: dict[int, int] = {}
    for event in result.trace:
        for c in event.committed:
            committed[c.offset] = c.token
    return [committed.get(i, -1) for i in range(sum(sizes))], elapsed, result.nfe


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="a model folder (default: the bundled model)")
    p.add_argument("--docs", type=int, default=6)
    p.add_argument("--sizes", default="256,512")
    p.add_argument("--holes", default="8,32,128", help="hole sizes in tokens; 16+16 is two holes in one fill")
    p.add_argument("--settings", default="0:0,8:0,16:0,32:0,16:16", help="BAND:REFRESH pairs, comma-separated")
    p.add_argument("--threshold", type=float, default=0.0,
                   help="the cached fills also commit every position this confident (parallel decoding); exact "
                        "stays one token per step")
    p.add_argument("--block-length", type=int, default=None, help="default: the model's recipe (0: one block)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    backend = open_backend(Path(a.model) if a.model else bundled_path(), device="cpu")
    layer = {"cache": "exact", "threshold": 0.0}
    if a.block_length is not None:
        layer["block_length"] = a.block_length
    base = SamplerParams.layered(backend.recipe, layer)
    settings = [tuple(int(x) for x in s.split(":")) for s in a.settings.split(",")]
    rows = []
    for size in (int(s) for s in a.sizes.split(",")):
        for hole in (tuple(int(n) for n in h.split("+")) for h in a.holes.split(",")):
            if sum(hole) >= size:
                continue
            for text in documents(backend.encode, a.docs, min(size, backend.max_length) - sum(hole)):
                exact_params = dataclasses.replace(base, steps=sum(hole))
                reference, exact_s, _ = one_fill(backend, text, hole, exact_params)
                for band, refresh in settings:
                    params = dataclasses.replace(exact_params, cache=Cache.DUAL, threshold=a.threshold,
                                                 cache_band=band, cache_refresh=refresh)
                    tokens, cached_s, nfe = one_fill(backend, text, hole, params)
                    same = sum(x == y for x, y in zip(tokens, reference, strict=True)) / sum(hole)
                    rows.append({"size": size, "hole": "+".join(map(str, hole)), "band": band, "refresh": refresh,
                                 "agreement": same, "speedup": exact_s / cached_s, "nfe": nfe})
    if a.json:
        print(json.dumps(rows))
        return 0
    print(f"{'hole':>5} {'band':>4} {'refresh':>7} {'fills':>5} {'agreement':>9} {'all same':>8} {'speed-up':>8} "
          f"{'nfe':>5}")
    for hole in sorted({r["hole"] for r in rows}, key=lambda h: [int(n) for n in h.split("+")]):
        for band, refresh in settings:
            group = [r for r in rows if (r["hole"], r["band"], r["refresh"]) == (hole, band, refresh)]
            print(f"{hole:>5} {band:>4} {refresh:>7} {len(group):>5} "
                  f"{statistics.mean(r['agreement'] for r in group):>9.3f} "
                  f"{sum(r['agreement'] == 1 for r in group) / len(group):>8.2f} "
                  f"{statistics.mean(r['speedup'] for r in group):>7.1f}x "
                  f"{statistics.mean(r['nfe'] for r in group):>5.1f}")
    for band, refresh in settings:
        group = [r for r in rows if (r["band"], r["refresh"]) == (band, refresh)]
        print(f"  all {band:>4} {refresh:>7} {len(group):>5} {statistics.mean(r['agreement'] for r in group):>9.3f} "
              f"{sum(r['agreement'] == 1 for r in group) / len(group):>8.2f} "
              f"{statistics.mean(r['speedup'] for r in group):>7.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
