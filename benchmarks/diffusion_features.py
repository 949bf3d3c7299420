"""What only a diffusion editor does, measured on held-out code with the bundled model.

Held-out code: the Python standard library packages the bundled model never saw in training
(``json``, ``email``, ``http``, ``urllib``, ``zoneinfo``, ``tomllib``; ``training/default_model.py``),
read from the running interpreter. Two measurements:

* **Infilling with the given length vs a length search.** Single-line, multi-line (2–4
  statements) and short (1–4 tokens inside a statement, as the model card's short-span test)
  spans of held-out function bodies are masked and filled greedily through
  ``canvasedit.engine``, in as many steps as the requested length: with the true length; with a
  *guessed* length (the true one times a factor drawn log-uniformly from [1/2, 2], seeded — what a
  user typing a hole gets); and with a length search started from the guess and from the true length. Exact match (hole text equals
  the original) and token accuracy (original tokens matched at their position). Wall time of the
  search in lockstep (one batch per step) and one candidate after another.
* **The suspicion heatmap.** A token of a 200-token held-out excerpt is replaced by another token
  of the same excerpt (a plausible token in the wrong place); the excerpt is scored
  (``engine.score``, 4 passes) and the planted token's rank among the excerpt's tokens, least likely
  first, is recorded (when the planted text spans k tokens, its best-ranked one). A random ranking
  would put the best of k tokens at (N + 1) / (k + 1); that baseline is printed beside the ranks.

    python benchmarks/diffusion_features.py                     # all of it (~30 min on one core)
    python benchmarks/diffusion_features.py --lines 30 --multi 15 --short 30 --plants 100 --json
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import random
import statistics
import sys
import sysconfig
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch

from canvasedit.engine import Hole, SamplerParams, fill, open_backend
from canvasedit.engine.lengths import search_lengths
from canvasedit.engine.score import align_tokens, score
from canvasedit.models.catalog import bundled_path

HELD_OUT = ("email", "json", "http", "urllib", "zoneinfo", "tomllib")


def held_out_files() -> list[Path]:
    lib = Path(sysconfig.get_paths()["stdlib"])
    files = [f for pkg in HELD_OUT for f in sorted((lib / pkg).rglob("*.py")) if "test" not in f.parts]
    return [f for f in files if f.stat().st_size > 2000]


def spans(source: str, multi: bool) -> list[tuple[int, int]]:
    """Character ranges of one body statement (or 2–4 consecutive ones) of every function, indentation excluded."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    lines = source.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def at(lineno: int, col: int) -> int:
        return starts[lineno - 1] + len(lines[lineno - 1].encode()[:col].decode(errors="ignore"))

    out = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        body = [s for s in node.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
        if not multi:
            for s in body:
                if s.lineno == s.end_lineno:
                    a, b = at(s.lineno, s.col_offset), at(s.end_lineno, s.end_col_offset)
                    if 4 <= b - a <= 60:
                        out.append((a, b))
            continue
        for i in range(len(body)):
            for k in (2, 3, 4):
                group = body[i : i + k]
                if len(group) < k:
                    break
                first, last = group[0], group[-1]
                if 2 <= last.end_lineno - first.lineno + 1 <= 4 and all(s.lineno == s.end_lineno for s in group):
                    a, b = at(first.lineno, first.col_offset), at(last.end_lineno, last.end_col_offset)
                    if b - a <= 200:
                        out.append((a, b))
                    break
    return out


def short_span(text: str, a: int, b: int, rng: random.Random, backend) -> tuple[int, int] | None:
    """A 1–4-token run inside the statement ``text[a:b]`` that tokenizes the same on its own (as the
    model card's short-span test picks them), or None."""
    ids = backend.encode(text[a:b])
    if len(ids) < 2:
        return None
    k = rng.randint(1, min(4, len(ids) - 1))
    first = rng.randint(0, len(ids) - k)
    prefix, middle = backend.decode(ids[:first]), backend.decode(ids[first : first + k])
    start = a + len(prefix)
    if backend.encode(middle) != ids[first : first + k] or text[start : start + len(middle)] != middle:
        return None
    return start, start + len(middle)


def infill_cases(files: list[Path], n: int, kind: str, rng: random.Random, backend) -> list[dict]:
    """``kind``: "single_line" (one statement), "multi_line" (2–4 statements) or "short" (1–4 tokens of a statement)."""
    pool = []
    for f in files:
        text = f.read_text(encoding="utf-8")
        pool += [(f, text, a, b) for a, b in spans(text, kind == "multi_line")]
    rng.shuffle(pool)
    cases = []
    for f, text, a, b in pool:
        if kind == "short":
            found = short_span(text, a, b, rng, backend)
            if found is None:
                continue
            a, b = found
        truth = text[a:b]
        ids = backend.encode(truth)
        if not (1 if kind == "short" else 2) <= len(ids) <= 64:
            continue
        guess = max(1, round(len(ids) * 2 ** rng.uniform(-1, 1)))
        cases.append({"file": str(f.relative_to(f.parents[1])), "text": text, "start": a, "end": b,
                      "truth": truth, "ids": ids, "guess": guess})
        if len(cases) >= n:
            break
    return cases


def judge(tokens, text: str, case: dict) -> tuple[bool, int]:
    truth = case["ids"]
    return text == case["truth"], sum(x == y for x, y in zip(tokens, truth))


def run_infill(backend, cases: list[dict], params: SamplerParams, timing: int) -> dict:
    modes = ("true length", "guessed length", "search from the guess", "search from the true length")
    tally = {m: {"exact": 0, "tokens": 0, "length_error": []} for m in modes}
    total_tokens = sum(len(c["ids"]) for c in cases)
    lockstep_s, in_turn_s = [], []
    for i, case in enumerate(cases):
        text, a, b, n = case["text"], case["start"], case["end"], len(case["ids"])
        for mode, length in (("true length", n), ("guessed length", case["guess"])):
            steps = replace(params, steps=length)  # one token per step at the requested length
            got = fill(text, [Hole(a, b, length=length)], backend, steps).run().holes[0]
            exact, matched = judge(got.tokens, got.text, case)
            t = tally[mode]
            t["exact"] += exact
            t["tokens"] += matched
            t["length_error"].append(abs(len(got.tokens) - n))
        for mode, length in (("search from the guess", case["guess"]), ("search from the true length", n)):
            steps = replace(params, steps=length)  # every candidate gets the requested length's steps
            begun = time.perf_counter()
            search = search_lengths(text, [Hole(a, b, length=length)], backend, steps)
            got = search.run().holes[0]
            if mode == "search from the guess" and i < timing:
                lockstep_s.append(time.perf_counter() - begun)
                begun = time.perf_counter()
                search_lengths(text, [Hole(a, b, length=length)], backend, steps, lockstep=False).run()
                in_turn_s.append(time.perf_counter() - begun)
            exact, matched = judge(got.tokens, got.text, case)
            t = tally[mode]
            t["exact"] += exact
            t["tokens"] += matched
            t["length_error"].append(abs(len(got.tokens) - n))
    out = {"cases": len(cases), "mean_true_tokens": round(total_tokens / max(len(cases), 1), 1), "modes": {}}
    for mode, t in tally.items():
        out["modes"][mode] = {
            "exact_match": round(t["exact"] / max(len(cases), 1), 4),
            "token_accuracy": round(t["tokens"] / max(total_tokens, 1), 4),
            "mean_length_error": round(statistics.mean(t["length_error"]), 2) if t["length_error"] else None,
        }
    if lockstep_s:
        out["search_seconds"] = {"lockstep": round(statistics.mean(lockstep_s), 3),
                                 "one_after_another": round(statistics.mean(in_turn_s), 3), "cases": len(lockstep_s)}
    return out


def run_heatmap(backend, files: list[Path], n: int, rng: random.Random, window: int = 200) -> dict:
    ranks, sizes, baseline, random_top10 = [], [], [], []
    begun = time.perf_counter()
    passes = 0
    while len(ranks) < n:
        text = rng.choice(files).read_text(encoding="utf-8")
        ids, where = align_tokens(text, backend)
        if len(ids) < window + 2:
            continue
        s = rng.randrange(0, len(ids) - window)
        excerpt = text[where[s][0] : where[s + window - 1][1]]
        eids, espans = align_tokens(excerpt, backend)
        k = rng.randrange(8, len(eids) - 8)
        a, b = espans[k]
        old = excerpt[a:b]
        new = backend.token_text(rng.choice(eids))
        if not old.strip() or new == old or not new.strip() or espans.count((a, b)) > 1:
            continue
        planted = excerpt[:a] + new + excerpt[b:]
        result = score(planted, backend)
        passes += result.passes
        hit = [t for t in result.tokens if t.start < a + len(new) and t.end > a]
        if not hit:
            continue
        order = sorted(result.tokens, key=lambda t: t.probability)
        position = {t.index: r + 1 for r, t in enumerate(order)}
        ranks.append(min(position[t.index] for t in hit))
        sizes.append(len(result.tokens))
        # The planted text may span k tokens and its best-ranked one counts: a random order puts the
        # best of k tokens at (N + 1) / (k + 1) on average, not (N + 1) / 2.
        baseline.append((len(result.tokens) + 1) / (len(hit) + 1))
        random_top10.append(min(1.0, 1 - math.comb(len(result.tokens) - len(hit), max(len(result.tokens) // 10, 0))
                                / math.comb(len(result.tokens), max(len(result.tokens) // 10, 0))))
    elapsed = time.perf_counter() - begun
    mean_n = statistics.mean(sizes)
    return {
        "cases": len(ranks), "mean_tokens": round(mean_n, 1),
        "median_rank": statistics.median(ranks), "mean_rank": round(statistics.mean(ranks), 1),
        "random_mean_rank": round(statistics.mean(baseline), 1),
        "planted_tokens_mean": round(statistics.mean((s + 1) / b - 1 for s, b in zip(sizes, baseline)), 2),
        "top1": round(sum(r == 1 for r in ranks) / len(ranks), 3),
        "top5": round(sum(r <= 5 for r in ranks) / len(ranks), 3),
        "top10pct": round(sum(r <= s // 10 for r, s in zip(ranks, sizes)) / len(ranks), 3),
        "random_top10pct": round(statistics.mean(random_top10), 3),
        "mrr": round(statistics.mean(1 / r for r in ranks), 3),
        "tokens_scored_per_s": round(sum(sizes) / elapsed, 1), "passes": passes,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=60, help="single-line infill cases")
    p.add_argument("--multi", type=int, default=30, help="multi-line infill cases")
    p.add_argument("--short", type=int, default=30, help="short-span (1-4 token) infill cases")
    p.add_argument("--plants", type=int, default=120, help="planted-token heatmap cases")
    p.add_argument("--timing", type=int, default=5, help="cases per infill kind timed in lockstep and one by one")
    p.add_argument("--context", type=int, default=128, help="document tokens the model reads around a hole")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for PyTorch")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default=None, help="model folder (default: the bundled model)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    torch.set_grad_enabled(False)
    torch.set_num_threads(args.threads)
    backend = open_backend(args.model or bundled_path(), device="cpu")
    files = held_out_files()
    # Greedy, as training/evaluate.py measures infilling; the steps follow each requested length.
    params = SamplerParams.layered(backend.recipe, {"context": args.context})
    report = {"model": backend.model_name, "held_out_files": len(files), "context_tokens": args.context}
    for kind, n, seed in (("single_line", args.lines, 1), ("multi_line", args.multi, 2), ("short", args.short, 4)):
        if n:
            cases = infill_cases(files, n, kind, random.Random(args.seed + seed), backend)
            report[kind] = run_infill(backend, cases, params, args.timing)
    if args.plants:
        report["heatmap"] = run_heatmap(backend, files, args.plants, random.Random(args.seed + 3))
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"model {report['model']}, {report['held_out_files']} held-out files, {args.context} context tokens")
    for kind in ("single_line", "multi_line", "short"):
        if kind not in report:
            continue
        r = report[kind]
        print(f"\n{kind.replace('_', '-')} infill, {r['cases']} cases, {r['mean_true_tokens']} tokens on average")
        print(f"  {'mode':<30} {'exact match':>11} {'token acc':>9} {'|len err|':>9}")
        for mode, m in r["modes"].items():
            print(f"  {mode:<30} {m['exact_match']:>11.1%} {m['token_accuracy']:>9.1%} {m['mean_length_error']:>9}")
        if "search_seconds" in r:
            s = r["search_seconds"]
            print(f"  length search wall time: {s['lockstep']} s in lockstep, {s['one_after_another']} s one "
                  f"candidate after another ({s['cases']} cases)")
    if "heatmap" in report:
        h = report["heatmap"]
        print(f"\nheatmap, {h['cases']} planted tokens in excerpts of {h['mean_tokens']} tokens")
        print(f"  rank of the planted token, least likely first: median {h['median_rank']}, mean {h['mean_rank']} "
              f"(random: {h['random_mean_rank']}); top-1 {h['top1']:.1%}, top-5 {h['top5']:.1%}, "
              f"top 10 % {h['top10pct']:.1%} (random: {h['random_top10pct']:.1%}), MRR {h['mrr']}; "
              f"the planted text spans {h['planted_tokens_mean']} tokens on average")
        print(f"  {h['tokens_scored_per_s']} tokens scored per second ({h['passes']} passes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
