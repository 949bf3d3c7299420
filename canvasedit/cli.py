"""The ``canvasedit`` command: the editor, and a headless CLI on the same engine.

    canvasedit [FILE]                          open the editor (the bundled model unless --model)
    canvasedit fill FILE --hole 12:5-12:30 --hole 20:1-20:1:16 [--json] [--stream] [-o OUT | --in-place]
    canvasedit fill FILE --instruct "make it formal" --revise 3:1-9:1   rewrite a range (instruct models)
    canvasedit fill FILE --hole 12:5-12:30 --length-search   try several hole lengths, keep the best-scored fill
    canvasedit score FILE [--range L:C-L:C] [--json]   each token's probability in place (suspicious ones marked)
    canvasedit expand FILE [--json]            write a body for every outline item, all filled jointly
    canvasedit bench [--sizes 256,1024,4096]   forward passes, tokens/s, ms/step, peak RSS
    canvasedit models [list|pull|use|rm|info|verify|add|measure] NAME   find, download and switch models
    canvasedit export-gguf OUT.gguf [--model M] [--type q8_0]   a model folder as one GGUF file (llama.cpp)
    canvasedit doctor [--json]                 what this machine has, and whether the active model loads
    canvasedit serve [--port 8765] [--api-key K]   the engine over HTTP: OpenAI, llama.cpp /infill, Ollama, /v1/fill
    canvasedit --version

Positions are 1-based ``LINE:COL`` in characters. ``--hole START-END[:N]``: an empty range
(START = END) is an insertion of N tokens (default 32); a non-empty range is replaced, N tokens
long (default: the range's own token count). ``--revise START-END`` keeps the range's tokens and
refills the fraction ``--revise-fraction`` the model finds least likely.

Exit codes: 0 success, 2 bad input (unreadable file, bad hole, bad model, a file changed or
read-only at save time) or any other failure, 130 interrupted (ctrl+c), 143 terminated (SIGTERM).
Documents go to stdout; progress and errors to stderr, every error as one line
(``CANVASEDIT_DEBUG=1`` prints the traceback too). A fill on a local model records its speed and the
peak memory, as ``canvasedit models measure`` does, for ``models list`` and the models screen.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import signal
import sys
import traceback
from pathlib import Path

from canvasedit.params import ALGORITHMS, CACHES, SCHEDULES

EXIT_OK, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 2, 130
SUBCOMMANDS = ("fill", "score", "expand", "bench", "models", "export-gguf", "doctor", "serve")
_HOLE = re.compile(r"^(?P<range>[0-9]+:[0-9]+-[0-9]+:[0-9]+)(?::(?P<n>[0-9]+))?$")
DEBUG_ENV = "CANVASEDIT_DEBUG"


class UsageError(ValueError):
    """A command-line value that parses but makes no sense."""

    def __init__(self, message: str, prog: str = "canvasedit") -> None:
        super().__init__(message)
        self.prog = prog
        """The command the error line names (``canvasedit bench: error: …``)."""


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line (``UsageError``) instead of usage + error.

    Each subcommand builds its parser from it, or hands it to the module that builds one (bench,
    serve); ``main`` prints the error as ``canvasedit bench: error: --sizes: expected comma-separated
    positive integers, got 'x' (see canvasedit bench --help)`` and exits 2. A check made after parsing
    reports through ``parser.error`` too, so a command run on its own with a plain ``ArgumentParser``
    still gets argparse's usage and exit 2.
    """

    def error(self, message: str):  # type: ignore[override]
        flag_first = message.removeprefix("argument ")  # "--sizes: …", the flag as the user typed it
        raise UsageError(f"{flag_first} (see {self.prog} --help)", prog=self.prog)


def _fail(message: str, prog: str = "canvasedit") -> int:
    """Print ``message`` as one line on stderr (and, with CANVASEDIT_DEBUG=1, the exception being handled)."""
    if os.environ.get(DEBUG_ENV) and sys.exc_info()[0] is not None:
        traceback.print_exc()
    line = "; ".join(part.strip() for part in str(message).splitlines() if part.strip())
    print(f"{prog}: error: {line}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _sampler_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("sampler")
    g.add_argument("--steps", type=int, default=None,
                   help="denoising steps for the whole fill, all holes and blocks together")
    g.add_argument("--block-length", type=int, default=None, help="semi-autoregressive block length; 0 = off")
    g.add_argument("--alg", choices=ALGORITHMS, default=None, help="which masked positions to commit first")
    g.add_argument("--schedule", choices=SCHEDULES, default=None,
                   help="per-step counts as LLaDA (block) or Dream (timestep) spread them")
    g.add_argument("--temperature", type=float, default=None)
    g.add_argument("--top-k", type=int, default=None)
    g.add_argument("--top-p", type=float, default=None)
    g.add_argument("--threshold", type=float, default=None,
                   help="also commit every position whose confidence clears this (parallel decoding)")
    g.add_argument("--revise-below", type=float, default=None,
                   help="re-mask committed tokens whose probability falls below this; 0 = off")
    g.add_argument("--alg-temp", type=float, default=None,
                   help="draw the positions to commit from softmax(confidence / T) instead of the top-k")
    g.add_argument("--seed", type=int, default=None)
    g.add_argument("--cache", choices=CACHES, default=None,
                   help="exact: every step reads the whole canvas; dual: only the holes against cached context; "
                        "auto: dual for up to 32 hole tokens, exact beyond")
    g.add_argument("--cache-refresh", type=int, default=None,
                   help="with --cache dual: recompute the whole canvas every N steps (0 = once per block)")
    g.add_argument("--cache-band", type=int, default=None,
                   help="with --cache dual: also recompute N context tokens on each side of every hole")
    g.add_argument("--context", type=int, default=None,
                   help="tokens of the document the model reads around the holes (0 = all it can)")


def _model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None,
                        help="model folder, .gguf file or catalog name (default: the bundled model)")
    parser.add_argument("--device", default=None, help="auto (default), cpu, cuda or cuda:N")


def build_fill_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="canvasedit fill", description="Fill holes in a file with a diffusion LM.",
                                epilog="Unset sampler flags follow config.toml's [sampler], then the active "
                                       "model family's recipe.")
    p.add_argument("file", type=Path)
    p.add_argument("--hole", action="append", default=[], metavar="L:C-L:C[:N]",
                   help="a hole; repeat for several holes, filled jointly")
    p.add_argument("--revise", action="append", default=[], metavar="L:C-L:C",
                   help="partially revise a range (keep most tokens, refill the least likely)")
    p.add_argument("--revise-fraction", type=float, default=0.3, help="fraction of a revised range to refill")
    _model_arguments(p)
    p.add_argument("--engine", default=None, metavar="URL",
                   help="fill on this server (canvasedit serve, or OpenAI-compatible) instead of a local model; "
                        "default config.toml's [engine] url")
    _sampler_arguments(p)
    from canvasedit.cli_features import add_fill_options

    add_fill_options(p)  # --instruct, --answer-length, --length-search
    p.add_argument("--stream", action="store_true", help="show every denoising pass (stderr, or a JSON trace)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the document")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--in-place", action="store_true", help="write the result back to FILE atomically")
    out.add_argument("-o", "--output", type=Path, default=None, help="write the result to OUT atomically")
    return p


def parse_holes(text: str, holes: list[str], revisions: list[str], fraction: float):
    from canvasedit.document import BadPosition, LineIndex, parse_range
    from canvasedit.engine import Hole

    index = LineIndex(text)
    out: list[tuple[Hole, str]] = []
    for flag, specs in (("--hole", holes), ("--revise", revisions)):
        for spec in specs:
            m = _HOLE.match(spec.strip())
            if m is None or (flag == "--revise" and m.group("n")):
                shape = "LINE:COL-LINE:COL[:N], e.g. 12:5-12:30 or 7:1-7:1:16" if flag == "--hole" else \
                    "LINE:COL-LINE:COL, e.g. 3:1-9:1"
                raise UsageError(f"bad {flag} {spec!r}: expected {shape}")
            try:
                (l1, c1), (l2, c2) = parse_range(m.group("range"))
                start, end = index.offset(l1, c1), index.offset(l2, c2)
            except BadPosition as exc:
                raise UsageError(f"bad {flag} {spec!r}: {exc}") from None
            if flag == "--hole":
                out.append((Hole(start, end, length=int(m.group("n")) if m.group("n") else None), spec))
            else:
                out.append((Hole(start, end, revise=fraction), spec))
    if not out:
        raise UsageError("give at least one --hole or --revise")
    ordered = sorted(out, key=lambda hs: (hs[0].start, hs[0].end))
    for (a, spec_a), (b, spec_b) in itertools.pairwise(ordered):
        if a.overlaps(b):  # here, where the positions are still LINE:COL, not in the engine's offsets
            raise UsageError(f"holes {spec_a.strip()} and {spec_b.strip()} overlap; holes filled together must not")
    return [hole for hole, _ in out]


def flag_layer(args: argparse.Namespace) -> dict:
    """The sampler settings given on the command line (unset flags are None: they follow config.toml)."""
    return {
        "steps": args.steps, "block_length": args.block_length, "algorithm": args.alg, "schedule": args.schedule,
        "temperature": args.temperature, "top_k": args.top_k, "top_p": args.top_p, "threshold": args.threshold,
        "alg_temp": args.alg_temp, "revise_below": args.revise_below, "seed": args.seed,
        "cache": args.cache, "cache_refresh": args.cache_refresh, "cache_band": args.cache_band,
        "context": args.context,
    }


def local_engine(model, device: str):
    """An ``EngineService`` with ``model`` loaded: every local command fills through one, as the editor does."""
    from canvasedit.engine.service import EngineService

    service = EngineService()
    service.record_measurements = False  # the service keys them by folder name; run_fill records by catalog name
    service.load(model, device)
    return service


def measurement_name(spec: str | None, settings) -> str:
    """The name ``models list`` shows a model's measurements under: its catalog entry's, else its path."""
    from canvasedit.models import catalog

    found = catalog.find(spec or catalog.DEFAULT_MODEL, settings)
    return found[0].name if found is not None else str(catalog.resolve_model(spec, settings))


def record_fill(name: str, backend, result) -> str | None:
    """Remember a finished fill's speed and the peak memory under ``name``, as ``models measure`` does.

    Returns why it could not be recorded instead of raising: the fill itself succeeded.
    """
    from canvasedit.engine.service import peak_memory
    from canvasedit.models import store
    from canvasedit.models.errors import ModelError

    if result.tokens_committed == 0:
        return None  # nothing was generated: no speed to speak of
    try:
        store.record_measurement(name, peak_memory(backend.device), result.tokens_per_second, backend.device,
                                 backend.name)
    except (ModelError, OSError) as exc:
        return str(exc)
    return None


def suffix_note(backend) -> str | None:
    """One line for a block-diffusion model, which reads only the text before a hole; None for the others."""
    if backend.layout.sees_suffix:
        return None
    return (f"canvasedit: note: {backend.model_name} does not see the text after a hole (a block-diffusion model "
            "reads only what comes before it)")


def run_fill(argv: list[str]) -> int:
    args = build_fill_parser().parse_args(argv)
    from canvasedit.cli_features import check_fill_options, fill_json, start_fill, stream_passes
    from canvasedit.config import ConfigError, load_settings
    from canvasedit.document import DocumentError, FileChangedOnDisk, check_target, load_document, save_document
    from canvasedit.engine import EngineError
    from canvasedit.models.errors import ModelError
    from canvasedit.params import ParamsError, SamplerParams
    from canvasedit.runtime import apply_threads

    written = False
    measured_as = None  # the model's name for its measurements, for a fill on this machine
    try:
        settings = load_settings()
        if not args.file.exists():
            raise UsageError(f"{args.file}: no such file")
        doc = load_document(args.file, max_bytes=settings.editor.max_file_bytes)
        holes = parse_holes(doc.text, args.hole, args.revise, args.revise_fraction)
        check_fill_options(args)
        SamplerParams.layered(settings.sampler, flag_layer(args))  # bad flags fail before the model loads
        target = args.file if args.in_place else args.output
        if target is not None:
            check_target(target)  # a FIFO, device or read-only file is refused before the fill, not after
        apply_threads(settings.model.threads)
        if args.engine or settings.engine.url:  # the document and its holes go to a server; its passes come back
            from canvasedit.engine.remote import connect_for

            if args.instruct is not None or args.length_search:
                raise UsageError("--instruct and --length-search run on a local model; leave out --engine")
            engine = connect_for(args.engine or settings.engine.url, settings.engine, args.model)
            handle = engine.fill(doc.text, holes, settings.sampler, flag_layer(args))
        else:
            spec = args.model or settings.model.active or None
            engine = local_engine(spec, args.device or settings.model.device)
            measured_as = measurement_name(spec, settings)
            # a plain fill, an instruction or a length search
            handle = start_fill(engine, doc.text, holes, (settings.sampler, flag_layer(args)), args)
        backend = handle.backend
        note = suffix_note(backend)
        if note is not None:
            print(note, file=sys.stderr, flush=True)
        if args.stream and not args.json:
            for shown in stream_passes(handle):
                line = " | ".join(h.replace("\n", "⏎") for h in shown.holes)
                print(f"step {shown.step}/{shown.total_steps} nfe {shown.nfe}: {line}", file=sys.stderr, flush=True)
        else:
            for _ in handle.events():
                pass
        if handle.result is None:
            raise EngineError("the fill was cancelled before it finished")
        result = _in_style(handle.result, doc.newline)
        if target is not None:
            doc.text = result.text
            try:
                save_document(doc, target)  # compares with the file as read, once more just before the rename
            except FileChangedOnDisk as exc:
                raise UsageError(f"{exc}, while the fill ran; nothing was written (run the fill again)") from exc
            written = True
        if args.json:
            print(json.dumps({**_result_json(result, backend, args.stream), **fill_json(handle, args)},
                             ensure_ascii=False))
        elif not (args.in_place or args.output):
            sys.stdout.write(result.text)
            sys.stdout.flush()
        problem = record_fill(measured_as, backend, handle.result) if measured_as is not None else None
        if problem is not None:
            print(f"canvasedit: note: the fill's speed was not recorded: {problem}", file=sys.stderr)
        return EXIT_OK
    except (ModelError, EngineError, DocumentError, ConfigError, UsageError, ParamsError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        state = "the result was written" if written else "the file is unchanged"
        print(f"canvasedit: {_interruption()}; {state}", file=sys.stderr)
        return _interrupted_code()


def _in_style(result, newline: str):
    """``result`` with the line breaks of the filled text in the document's style (``\\r\\n`` files stay CRLF)."""
    from dataclasses import replace

    from canvasedit.document import adapt_newlines

    parts, holes, cursor, previous = [], [], 0, 0
    for hole in result.holes:
        parts.append(result.text[previous : hole.start])
        cursor += hole.start - previous
        text = adapt_newlines(hole.text, newline)
        holes.append(replace(hole, text=text, start=cursor, end=cursor + len(text)))
        parts.append(text)
        cursor += len(text)
        previous = hole.end
    parts.append(result.text[previous:])
    return replace(result, text="".join(parts), holes=tuple(holes))


def _result_json(result, backend, with_trace: bool) -> dict:
    from canvasedit.document import offset_to_position

    holes = []
    for h in result.holes:
        start = offset_to_position(result.text, h.start)
        end = offset_to_position(result.text, h.end)
        holes.append({
            "index": h.index, "kind": h.kind, "text": h.text,
            "start": h.start, "end": h.end,
            "range": f"{start[0]}:{start[1]}-{end[0]}:{end[1]}",
            "tokens": len(h.tokens),
        })
    out = {
        "model": backend.model_name, "backend": backend.name, "device": backend.device,
        "holes": holes, "nfe": result.nfe, "steps": result.steps,
        "elapsed_s": round(result.elapsed, 4), "tokens_per_s": round(result.tokens_per_second, 2),
        "text": result.text,
    }
    if with_trace:
        from canvasedit.engine.view import replay

        shown = replay(result.start, result.trace) if result.start is not None else None
        out["trace"] = []
        for e in result.trace:
            step = {"step": e.step, "nfe": e.nfe, "elapsed_s": round(e.elapsed, 4)}
            if shown is not None:
                step["holes"] = list(next(shown).holes)
            step["committed"] = [{"hole": c.hole, "offset": c.offset, "token": c.token, "text": c.text,
                                  "confidence": round(c.confidence, 4)} for c in e.committed]
            step["remasked"] = [list(r) for r in e.remasked]
            out["trace"].append(step)
    return out


def run_models(argv: list[str]) -> int:
    """``canvasedit models list|pull|use|rm|info|verify|add|measure`` (see ``canvasedit.cli_models``)."""
    from canvasedit.cli_models import main as models_main

    return models_main(argv)


def run_export_gguf(argv: list[str]) -> int:
    from canvasedit.models.gguf_file import EXPORT_TYPES

    p = OneLineParser(prog="canvasedit export-gguf",
                      description="Write a model folder as one GGUF file for the llama.cpp backend.")
    p.add_argument("output", type=Path, help="the .gguf file to write (replaced atomically)")
    p.add_argument("--model", default=None, help="model folder or catalog name (default: the bundled model)")
    p.add_argument("--type", dest="qtype", choices=EXPORT_TYPES, default="f16",
                   help="weight type: f32, f16 (default), bf16 or a llama.cpp quantization")
    args = p.parse_args(argv)
    from canvasedit.document import DocumentError, check_target
    from canvasedit.models.catalog import resolve_model
    from canvasedit.models.errors import ModelError
    from canvasedit.models.gguf_file import export_gguf

    try:
        if args.output.suffix.lower() != ".gguf":
            raise UsageError(f"{args.output}: the output file name must end in .gguf")
        check_target(args.output)
        report = export_gguf(resolve_model(args.model), args.output, args.qtype)
    except (ModelError, UsageError, DocumentError, OSError) as exc:
        return _fail(str(exc))
    print(f"wrote {report.path} ({report.bytes / 1e6:.1f} MB, {report.tensors} tensors, "
          f"{report.quantized} in {report.qtype})", file=sys.stderr)
    return EXIT_OK


def run_score(argv: list[str]) -> int:
    """``canvasedit score``: every token's probability in place (see ``canvasedit.cli_features``)."""
    from canvasedit.cli_features import run_score as score_main

    return score_main(argv)


def run_expand(argv: list[str]) -> int:
    """``canvasedit expand``: a body for every outline item, filled jointly (see ``canvasedit.cli_features``)."""
    from canvasedit.cli_features import run_expand as expand_main

    return expand_main(argv)


def run_bench(argv: list[str]) -> int:
    from canvasedit.engine.bench import main as bench_main

    return bench_main(argv, OneLineParser)


def run_serve(argv: list[str]) -> int:
    """``canvasedit serve``: the engine over HTTP (see ``canvasedit.server``); errors reach ``main`` as one line."""
    from canvasedit.server.main import main as serve_main

    serve_main(argv, OneLineParser)
    return EXIT_OK


def run_doctor(argv: list[str]) -> int:
    from canvasedit.doctor import main as doctor_main

    return doctor_main(argv)


def run_editor(argv: list[str]) -> int:
    p = OneLineParser(prog="canvasedit", description="Edit a file; a diffusion LM fills the holes you mask.",
                      epilog="subcommands: fill, score, expand, bench, models, export-gguf, doctor, serve "
                             "(canvasedit fill --help); canvasedit --version")
    p.add_argument("file", nargs="?", type=Path, help="file to open (created on first save if missing)")
    _model_arguments(p)
    p.add_argument("--engine", default=None, metavar="URL",
                   help="fill on this server (canvasedit serve, or OpenAI-compatible) instead of a local model; "
                        "default config.toml's [engine] url")
    args = p.parse_args(argv)
    from canvasedit.config import ConfigError, load_settings
    from canvasedit.runtime import apply_threads
    from canvasedit.ui.app import run_editor as run_app

    try:
        threads = load_settings().model.threads
    except ConfigError:
        threads = 0  # the editor starts with default settings and says why
    apply_threads(threads)
    return run_app(args.file, model=args.model, device=args.device or "auto", engine=args.engine)


_received_signal: int | None = None
"""SIGTERM when that is what stopped the command (it is turned into KeyboardInterrupt, like ctrl+c)."""


def _on_sigterm(signum: int, frame) -> None:
    global _received_signal
    _received_signal = signum
    raise KeyboardInterrupt  # unwinds like ctrl+c: every `finally` removes its temporary file


def _interruption() -> str:
    return "terminated" if _received_signal == signal.SIGTERM else "interrupted"


def _interrupted_code() -> int:
    return 128 + _received_signal if _received_signal else EXIT_INTERRUPTED


def _unexpected(exc: Exception) -> int:
    """Any exception no command handled: one line, exit 2; a missing optional package names its extra."""
    from canvasedit.runtime import missing_extra

    hint = missing_extra(exc)
    if hint is not None:
        return _fail(hint)
    if isinstance(exc, UsageError):
        return _fail(str(exc), exc.prog)
    if type(exc).__module__.startswith("canvasedit"):
        return _fail(str(exc))  # the project's own errors already say what to do
    return _fail(f"unexpected {type(exc).__name__}: {exc} (run with {DEBUG_ENV}=1 for the traceback)")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if argv in (["--version"], ["-V"]):
        from canvasedit.runtime import version

        print(f"canvasedit {version()}")
        return EXIT_OK
    global _received_signal
    _received_signal = None  # one process may run several commands (the tests do)
    headless = bool(argv) and argv[0] in SUBCOMMANDS
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if headless else None
    try:
        if headless:
            commands = {"fill": run_fill, "score": run_score, "expand": run_expand, "bench": run_bench,
                        "models": run_models, "export-gguf": run_export_gguf,
                        "doctor": run_doctor, "serve": run_serve}
            return commands[argv[0]](argv[1:])
        return run_editor(argv)
    except KeyboardInterrupt:
        print(f"canvasedit: {_interruption()}", file=sys.stderr)
        return _interrupted_code()
    except BrokenPipeError:  # `canvasedit fill … | head`: the reader left; not an error to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit-time flush cannot fail again
        return 128 + 13
    except Exception as exc:  # noqa: BLE001  the promise: one line and exit 2, never a traceback unless asked
        return _unexpected(exc)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    raise SystemExit(main())
