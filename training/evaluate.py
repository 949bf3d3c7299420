"""Evaluate an exported CanvasEdit model folder on the held-out split, through the product's own engine.

* Masked-token accuracy and cross-entropy at 15 % and 50 % random masking, one forward pass per
  window, against a unigram baseline (training-set token frequencies).
* Single-line infills in held-out functions: one line of a function body is masked with its true
  token length and filled by ``canvasedit.engine.fill`` (greedy, one token per step); exact match,
  token accuracy and character similarity. Short spans (1–4 tokens) are measured the same way.
* Five before/after examples, written verbatim into the model card.

    python training/evaluate.py --run runs/default --model canvasedit/models/bundled/canvasedit-tiny
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import random
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from canvasedit.engine import Hole, SamplerParams, fill, open_backend  # noqa: E402


def masked_accuracy(backend, run: Path, windows: int = 256, length: int = 256) -> dict:
    """Accuracy / CE at 15 % and 50 % masking on held-out tokens, and the unigram baseline's."""
    length = min(length, backend.max_length)
    train = np.concatenate([np.fromfile(run / "tokens" / f"{n}.bin", dtype=np.uint16) for n in ("py_train", "en_train")])
    counts = np.bincount(train, minlength=backend.model.lm_head.weight.shape[0]).astype(np.float64)
    counts[backend.mask_id] = 0
    unigram = counts / counts.sum()
    most_frequent = int(unigram.argmax())
    out = {}
    for name in ("py_test", "en_test"):
        data = np.fromfile(run / "tokens" / f"{name}.bin", dtype=np.uint16)
        rng = np.random.default_rng(0)
        starts = rng.integers(0, len(data) - length - 1, size=windows)
        ids = torch.from_numpy(np.stack([data[s : s + length] for s in starts]).astype(np.int64))
        for rate in (0.15, 0.50):
            masked = torch.from_numpy(rng.random(ids.shape) < rate)
            correct = total = 0
            ce_sum = 0.0
            for b in range(0, windows, 16):
                chunk, m = ids[b : b + 16], masked[b : b + 16]
                logits = backend.logits(chunk.masked_fill(m, backend.mask_id))  # (b, T, V)
                logits = logits.masked_fill(backend.banned, float("-inf"))  # as the model card's numbers were measured
                ce_sum += F.cross_entropy(logits[m], chunk[m], reduction="sum").item()
                correct += (logits[m].argmax(-1) == chunk[m]).sum().item()
                total += int(m.sum())
            targets = ids[masked].numpy()
            key = f"{name[:2]}_{int(rate * 100)}"
            out[key] = {
                "model_acc": round(correct / total, 4),
                "model_ce": round(ce_sum / total, 3),
                "most_frequent_acc": round(float((targets == most_frequent).mean()), 4),
                "unigram_ce": round(float(-np.log(unigram[targets] + 1e-12).mean()), 3),
                "masked_tokens": total,
            }
    return out


def _function_lines(source: str) -> list[tuple[int, int]]:
    """(start, end) character ranges of single body lines in functions: the line's text without indentation."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    lines = source.splitlines(keepends=True)
    offsets = np.cumsum([0] + [len(line) for line in lines])
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
            body = body[1:]  # skip the docstring
        for stmt in body:
            if stmt.lineno != getattr(stmt, "end_lineno", stmt.lineno):
                continue
            line = lines[stmt.lineno - 1]
            stripped = line.strip()
            if not 4 <= len(stripped) <= 60:
                continue
            start = int(offsets[stmt.lineno - 1]) + (len(line) - len(line.lstrip()))
            out.append((start, start + len(stripped)))
    return out


def infill(backend, run: Path, n: int, short: bool, seed: int) -> tuple[dict, list[dict]]:
    docs = [json.loads(line) for line in open(run / "corpus" / "py_test.jsonl", encoding="utf-8")]
    rng = random.Random(seed)
    cases = []
    for doc in docs:
        for a, b in _function_lines(doc["text"]):
            cases.append((doc, a, b))
    rng.shuffle(cases)
    exact = tok_correct = tok_total = 0
    sims = []
    examples = []
    done = 0
    for doc, a, b in cases:
        text = doc["text"]
        if short:
            ids = backend.encode(text[a:b])
            if len(ids) < 2:
                continue
            k = rng.randint(1, min(4, len(ids) - 1))
            first = rng.randint(0, len(ids) - k)
            prefix = backend.decode(ids[:first])
            middle = backend.decode(ids[first : first + k])
            if backend.encode(middle) != ids[first : first + k] or text[a + len(prefix) : a + len(prefix) + len(middle)] != middle:
                continue
            a, b = a + len(prefix), a + len(prefix) + len(middle)
        truth = text[a:b]
        truth_ids = backend.encode(truth)
        result = fill(text, [Hole(a, b, length=len(truth_ids))], backend, SamplerParams(steps=len(truth_ids))).run()
        got = result.holes[0]
        exact += got.text == truth
        paired = list(zip(got.tokens, truth_ids))
        tok_correct += sum(x == y for x, y in paired)
        tok_total += len(truth_ids)
        sims.append(difflib.SequenceMatcher(None, got.text, truth).ratio())
        if len(examples) < 5 and len({e["path"].split("/")[1] for e in examples} | {doc["path"].split("/")[1]}) > len(examples):
            line_start = text.rfind("\n", 0, a) + 1
            ctx_start = text.rfind("\n", 0, max(line_start - 1, 0))
            ctx_start = text.rfind("\n", 0, max(ctx_start, 0)) + 1
            line_end = text.find("\n", b)
            ctx_end = text.find("\n", line_end + 1)
            ctx_end = len(text) if ctx_end < 0 else ctx_end
            examples.append({
                "path": doc["path"], "tokens": len(truth_ids),
                "masked": text[ctx_start:a] + f"[MASK×{len(truth_ids)}]" + text[b:ctx_end],
                "filled": text[ctx_start:a] + got.text + text[b:ctx_end],
                "original": text[ctx_start:ctx_end],
            })
        done += 1
        if done >= n:
            break
    return {
        "cases": done, "exact_match": round(exact / max(done, 1), 4),
        "token_acc": round(tok_correct / max(tok_total, 1), 4),
        "char_similarity": round(float(np.mean(sims)) if sims else 0.0, 3),
    }, examples


def evaluate(run: Path, model: Path | None = None, n: int = 200) -> dict:
    model = model or ROOT / "canvasedit" / "models" / "bundled" / "canvasedit-tiny"
    backend = open_backend(model, device="cpu")
    torch.set_grad_enabled(False)
    results = {"masked": masked_accuracy(backend, run)}
    results["line_infill"], line_examples = infill(backend, run, n, short=False, seed=1)
    results["short_infill"], short_examples = infill(backend, run, n, short=True, seed=2)
    results["examples"] = line_examples
    results["short_examples"] = short_examples[:3]
    (run / "eval.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(json.dumps({k: v for k, v in results.items() if "examples" not in k}, indent=2))
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, default=ROOT / "runs" / "default")
    p.add_argument("--model", type=Path, default=None)
    p.add_argument("-n", type=int, default=200)
    a = p.parse_args(argv)
    evaluate(a.run, a.model, a.n)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
