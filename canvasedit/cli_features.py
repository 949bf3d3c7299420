"""The headless commands for what only a diffusion editor does: revise with an instruction, score text
in place, search hole lengths, and expand outlines.

    canvasedit fill FILE --instruct "make it formal" --revise 3:1-9:1 [--answer-length N]
    canvasedit fill FILE --hole 12:5-12:30 --length-search [--json]
    canvasedit score FILE [--range L:C-L:C] [--threshold P] [--marked] [--json]
    canvasedit expand FILE [--length N] [--json] [--stream] [-o OUT | --in-place]

``fill``'s options are wired into ``canvasedit.cli.run_fill`` (``add_fill_options``,
``check_fill_options``, ``start_fill``, ``stream_passes``, ``fill_json``); ``score`` and ``expand`` are
commands of their own (``run_score``, ``run_expand``). Every command runs on the engine service
(``canvasedit.cli.local_engine``), never on a backend of its own. Errors are one line and exit 2, as everywhere in the CLI.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from canvasedit.cli import (
    EXIT_OK,
    OneLineParser,
    UsageError,
    _fail,
    _in_style,
    _interrupted_code,
    _interruption,
    _model_arguments,
    _sampler_arguments,
    flag_layer,
    local_engine,
    suffix_note,
)

# -- fill --instruct / --length-search ------------------------------------------------------------------------


def add_fill_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("diffusion editing")
    g.add_argument("--instruct", default=None, metavar="TEXT",
                   help="rewrite the one --revise range as TEXT asks, through the model's chat template "
                        "(instruct models)")
    g.add_argument("--answer-length", type=int, default=None, metavar="N",
                   help="with --instruct: tokens of room for the answer (default: the range's tokens plus a margin)")
    g.add_argument("--length-search", action="store_true",
                   help="fill each hole at several lengths around its own (and a longer budget that may end "
                        "early) and keep the fill the model scores best")


def check_fill_options(args: argparse.Namespace) -> None:
    """Combinations that make no sense, refused before the model loads."""
    if args.instruct is not None:
        if not args.instruct.strip():
            raise UsageError("--instruct needs an instruction, e.g. --instruct 'make it formal'")
        if args.hole or len(args.revise) != 1:
            raise UsageError("--instruct rewrites exactly one range: give one --revise L:C-L:C and no --hole")
        if args.length_search:
            raise UsageError("--length-search fills holes; it does not combine with --instruct")
    elif args.answer_length is not None:
        raise UsageError("--answer-length goes with --instruct")
    if args.answer_length is not None and args.answer_length < 1:
        raise UsageError(f"--answer-length must be at least 1, got {args.answer_length}")
    if args.length_search and args.revise:
        raise UsageError("--length-search needs --hole ranges; a --revise keeps its own tokens")


def start_fill(service, text: str, holes: list, layers: tuple, args: argparse.Namespace):
    """The handle ``canvasedit fill`` iterates: an instruction's, a length search's, or a plain fill's."""
    if args.instruct is not None:
        hole = holes[0]
        return service.instruct(text, hole.start, hole.end, args.instruct, *layers, length=args.answer_length)
    if args.length_search:
        return service.search_lengths(text, holes, *layers)
    return service.fill(text, holes, *layers)


def stream_passes(handle):
    """Every pass whole (``view.PassView``); a length search's each led by its candidate's lengths."""
    from canvasedit.engine.lengths import LengthSearch

    if not isinstance(getattr(handle, "run", None), LengthSearch):
        yield from handle.passes()
        return
    from canvasedit.engine.view import FillView

    search = handle.run
    views: dict[int, FillView] = {}
    for step in handle.events():
        view = views.get(step.candidate)
        if view is None:
            view = views[step.candidate] = FillView(search.runs[step.candidate].start)
        shown = view.apply(step.event)
        label = "free " if step.candidate == len(search.plans) - 1 else ""
        lengths = ",".join(str(n) for n in step.lengths)
        yield replace(shown, holes=tuple(f"[{label}{lengths}] {h}" for h in shown.holes))


def fill_json(handle, args: argparse.Namespace) -> dict[str, Any]:
    """What ``--json`` adds for an instruction or a length search."""
    if args.length_search:
        return {"length_search": search_json(handle.run)}
    if args.instruct is not None:
        answer = handle.run.canvas.spans[0]
        return {"instruct": {"instruction": args.instruct, "prompt_tokens": answer.start,
                             "answer_tokens": answer.length}}
    return {}


def search_json(search) -> dict[str, Any]:
    return {
        "requested": list(search.requested),
        "chosen": search.best.index if search.best is not None else None,
        "score": _round(search.best.score) if search.best is not None else None,
        "candidates": [
            {"index": c.index, "lengths": list(c.lengths), "free": c.free, "score": _round(c.score),
             "hole_scores": [_round(s) for s in c.hole_scores], "texts": [h.text for h in c.result.holes],
             "tokens": [len(h.tokens) for h in c.result.holes]}
            for c in search.candidates
        ],
        "forward_passes": search.forward_passes, "backend_calls": search.backend_calls,
        "scoring_passes": search.scoring_passes, "elapsed_s": round(search.elapsed, 4),
        "score_definition": "mean log-probability of each filled token and of the 4 document tokens on either side "
                            "of each hole, every one masked in turn (4 passes), in the filled document",
    }


def _round(x: float) -> float | None:
    return round(x, 4) if math.isfinite(x) else None


# -- score -----------------------------------------------------------------------------------------------------


def build_score_parser() -> argparse.ArgumentParser:
    from canvasedit.engine.score import DEFAULT_THRESHOLD, SCORING_PASSES

    p = OneLineParser(prog="canvasedit score",
                      description="Score every token of a file in place: its probability when the model "
                                  "sees it masked. Unlikely tokens are marked.")
    p.add_argument("file", type=Path)
    p.add_argument("--range", default=None, metavar="L:C-L:C", help="score only the tokens that overlap this range")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                   help=f"mark tokens less likely than this (default {DEFAULT_THRESHOLD})")
    p.add_argument("--passes", type=int, default=SCORING_PASSES,
                   help=f"masked copies per window; pass g masks every token at index g mod N (default {SCORING_PASSES})")
    p.add_argument("--marked", action="store_true", help="list only the marked tokens")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _model_arguments(p)
    return p


def run_score(argv: list[str]) -> int:
    args = build_score_parser().parse_args(argv)
    from canvasedit.config import ConfigError, load_settings
    from canvasedit.document import DocumentError, LineIndex, load_document
    from canvasedit.engine import EngineError
    from canvasedit.models.errors import ModelError
    from canvasedit.runtime import apply_threads

    try:
        if not 0.0 <= args.threshold <= 1.0:
            raise UsageError(f"--threshold must be a probability in [0, 1], got {args.threshold}")
        settings = load_settings()
        doc = _load(args.file, settings, load_document)
        index = LineIndex(doc.text)
        start, end = _range(args.range, index) if args.range else (0, len(doc.text))
        apply_threads(settings.model.threads)
        service = local_engine(args.model or settings.model.active or None, args.device or settings.model.device)
        backend = service.require()
        note = suffix_note(backend)
        if note is not None:
            print(note, file=sys.stderr, flush=True)
        result = service.score(doc.text, start, end, passes=args.passes)
    except (ModelError, EngineError, DocumentError, ConfigError, UsageError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print(f"canvasedit: {_interruption()}", file=sys.stderr)
        return _interrupted_code()
    marked = [t for t in result.tokens if t.probability < args.threshold]
    shown = marked if args.marked else list(result.tokens)
    if args.json:
        print(json.dumps(score_json(result, backend, index, args.threshold, shown), ensure_ascii=False))
        return EXIT_OK
    width = max([len(_at(index, t.start)) for t in shown] + [8])
    print(f"{'LINE:COL'.ljust(width)}  {'p':>8}     {'token':<18} model's choice")
    for t in shown:
        flag = "!" if t.probability < args.threshold else " "
        print(f"{_at(index, t.start).ljust(width)}  {t.probability:8.2e} {flag}   {_show(t.text):<18} "
              f"{_show(t.best_text)} {t.best_probability:.2f}")
    print(f"{len(result.tokens)} tokens scored in {result.passes} passes ({result.windows} window"
          f"{'s' if result.windows != 1 else ''}, {result.elapsed:.2f} s); {len(marked)} below {args.threshold:g}",
          file=sys.stderr)
    return EXIT_OK


def score_json(result, backend, index, threshold: float, tokens) -> dict[str, Any]:
    return {
        "model": backend.model_name, "backend": backend.name, "device": backend.device,
        "threshold": threshold, "passes": result.passes, "windows": result.windows,
        "elapsed_s": round(result.elapsed, 4), "scored": len(result.tokens),
        "marked": sum(t.probability < threshold for t in result.tokens),
        "tokens": [
            {"index": t.index, "text": t.text, "start": t.start, "end": t.end, "at": _at(index, t.start),
             "token": t.token, "probability": float(f"{t.probability:.4g}"), "logprob": _round(t.logprob),
             "best": t.best_text, "best_probability": float(f"{t.best_probability:.4g}"),
             "marked": t.probability < threshold}
            for t in tokens
        ],
        "holes": [{"start": h.start, "end": h.end, "length": h.length} for h in result.holes(threshold)],
    }


def _at(index, offset: int) -> str:
    line, col = index.position(offset)
    return f"{line}:{col}"


def _show(text: str) -> str:
    return repr(text)[1:-1] if text else "''"


# -- expand ----------------------------------------------------------------------------------------------------


def build_expand_parser() -> argparse.ArgumentParser:
    from canvasedit.engine.canvas import DEFAULT_HOLE_TOKENS

    p = OneLineParser(prog="canvasedit expand",
                      description="Write a body for every item of an outline (Markdown bullets, empty headings, "
                                  "Python functions with only a docstring), all filled jointly.",
                      epilog="Unset sampler flags follow config.toml's [sampler], then the active model family's recipe.")
    p.add_argument("file", type=Path)
    p.add_argument("--length", type=int, default=DEFAULT_HOLE_TOKENS,
                   help=f"tokens of room for each body; it may end early (default {DEFAULT_HOLE_TOKENS})")
    p.add_argument("--language", default=None, choices=("markdown", "python"),
                   help="how to read the outline (default: from the file name; Markdown for plain text)")
    _model_arguments(p)
    _sampler_arguments(p)
    p.add_argument("--stream", action="store_true", help="show every denoising pass (stderr, or a JSON trace)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the document")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--in-place", action="store_true", help="write the result back to FILE atomically")
    out.add_argument("-o", "--output", type=Path, default=None, help="write the result to OUT atomically")
    return p


def run_expand(argv: list[str]) -> int:
    args = build_expand_parser().parse_args(argv)
    from canvasedit.config import ConfigError, load_settings
    from canvasedit.document import DocumentError, FileChangedOnDisk, check_target, load_document, save_document
    from canvasedit.engine import EngineError
    from canvasedit.engine.outline import NOTHING_TO_EXPAND, NoOutline, outline_items
    from canvasedit.engine.service import result_json
    from canvasedit.models.errors import ModelError
    from canvasedit.params import ParamsError, SamplerParams
    from canvasedit.runtime import apply_threads
    from canvasedit.syntax import language_for_path

    written = False
    try:
        if args.length < 1:
            raise UsageError(f"--length must be at least 1, got {args.length}")
        settings = load_settings()
        doc = _load(args.file, settings, load_document)
        language = args.language or language_for_path(args.file)
        items = outline_items(doc.text, language, args.length)
        if not items:  # before the model loads
            raise NoOutline(NOTHING_TO_EXPAND)
        SamplerParams.layered(settings.sampler, flag_layer(args))
        target = args.file if args.in_place else args.output
        if target is not None:
            check_target(target)
        apply_threads(settings.model.threads)
        service = local_engine(args.model or settings.model.active or None, args.device or settings.model.device)
        backend = service.require()
        handle = service.expand(doc.text, language, settings.sampler, flag_layer(args), items=items)
        run = handle.run
        note = suffix_note(backend)
        if note is not None:
            print(note, file=sys.stderr, flush=True)
        if args.stream and not args.json:
            for shown in handle.passes():
                line = " | ".join(h.replace("\n", "⏎") for h in shown.holes)
                print(f"step {shown.step}/{shown.total_steps} nfe {shown.nfe}: {line}", file=sys.stderr, flush=True)
        result = _in_style(handle.wait(), doc.newline)
        if target is not None:
            doc.text = result.text
            try:
                save_document(doc, target)
            except FileChangedOnDisk as exc:
                raise UsageError(f"{exc}, while the outline was expanded; nothing was written (run it again)") from exc
            written = True
        if args.json:
            out = result_json(result, backend, args.stream)
            out["items"] = [{"kind": i.kind, "title": i.title, "start": i.start, "end": i.end} for i in run.items]
            print(json.dumps(out, ensure_ascii=False))
        elif target is None:
            sys.stdout.write(result.text)
            sys.stdout.flush()
        return EXIT_OK
    except (ModelError, EngineError, DocumentError, ConfigError, UsageError, ParamsError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        state = "the result was written" if written else "the file is unchanged"
        print(f"canvasedit: {_interruption()}; {state}", file=sys.stderr)
        return _interrupted_code()


# -- shared ----------------------------------------------------------------------------------------------------


def _load(path: Path, settings, load_document):
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    return load_document(path, max_bytes=settings.editor.max_file_bytes)


def _range(spec: str, index) -> tuple[int, int]:
    from canvasedit.document import BadPosition, parse_range

    try:
        (l1, c1), (l2, c2) = parse_range(spec.strip())
        start, end = index.offset(l1, c1), index.offset(l2, c2)
    except BadPosition as exc:
        raise UsageError(f"bad --range {spec!r}: {exc}") from None
    if end < start:
        raise UsageError(f"bad --range {spec!r}: it ends before it starts")
    return start, end
