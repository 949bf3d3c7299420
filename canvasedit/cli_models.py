"""``canvasedit models …``: find, pull, verify, switch, inspect and remove diffusion LMs.

    canvasedit models [list] [--json]              catalog and local models: size, status, fit, measured speed
    canvasedit models pull NAME [--quant Q] [--revision R] [--force]
    canvasedit models use NAME                     make NAME the active model (config.toml [model] active)
    canvasedit models rm NAME [--quant Q]          free the cache files of NAME only (a local folder entry
                                                   is forgotten, its files untouched), and say how much
    canvasedit models info NAME                    everything known about NAME; its pinned revision and cached commit
    canvasedit models verify [NAME]                hash every file of the commit each model uses again
    canvasedit models add REPO|PATH [--name N]     a hub repository (a GGUF one lists its quantizations with
                                                   sizes) or local folder of a supported family
    canvasedit models measure NAME [--tokens N]    load NAME, fill one hole, record peak memory and speed

``NAME`` is a catalog name, optionally with a GGUF quantization: ``llada-8b-instruct-gguf:Q8_0``.
Every command takes ``--json`` (one object on stdout). Bad input and failures print one line on
stderr (``canvasedit models pull: error: NAME is required``) and exit 2; an interrupted pull exits
130 and keeps what it downloaded for the next pull.
Downloads go to the Hugging Face cache (``HF_HUB_CACHE`` / ``HF_HOME``); ``HF_ENDPOINT``,
``HF_TOKEN`` and ``HF_HUB_OFFLINE`` work as for every Hugging Face tool.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

EXIT_OK, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 2, 130
PROG = "canvasedit models"
COMMANDS = ("list", "pull", "use", "rm", "info", "verify", "add", "measure")


class UsageError(ValueError):
    """A command-line value that parses but makes no sense."""


class CommandLineError(UsageError):
    """What argparse found wrong with the words typed, reworded as one line for one parser's ``prog``."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line (``canvasedit models pull: error: NAME is required``).

    argparse prints the whole usage block before its message; a script reading stderr, and a person
    who mistyped one word, both want the one line that says what is wrong.
    """

    def error(self, message: str) -> NoReturn:
        raise CommandLineError(self.prog, _reworded(message))


def _reworded(message: str) -> str:
    """argparse's wording, shorter: "NAME is required", "unknown subcommand 'x'; choose from …"."""
    required = re.fullmatch(r"the following arguments are required: (.+)", message)
    if required:
        names = required.group(1).split(", ")
        return f"{' and '.join(names)} {'is' if len(names) == 1 else 'are'} required"
    choice = re.fullmatch(r"argument COMMAND: invalid choice: (.+?) \(choose from .*\)", message)
    if choice:
        return f"unknown subcommand {choice.group(1)}; choose from {', '.join(COMMANDS)}"
    needs = re.fullmatch(r"argument (\S+?)(?:/\S+)?: expected one argument", message)
    if needs:
        return f"{needs.group(1)} needs a value"
    invalid = re.fullmatch(r"argument (\S+?)(?:/\S+)?: invalid (int|float) value: (.*)", message)
    if invalid:
        kind = "a whole number" if invalid.group(2) == "int" else "a number"
        return f"{invalid.group(1)} must be {kind}, found {invalid.group(3)}"
    return message.removeprefix("argument ")


def _fail(message: str, prog: str = PROG) -> int:
    line = "; ".join(part.strip() for part in str(message).splitlines() if part.strip())
    print(f"{prog}: error: {line}", file=sys.stderr)
    return EXIT_BAD_INPUT


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Find, pull, switch and remove diffusion LMs.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=help, description=help)
        c.add_argument("--json", action="store_true", help="print one JSON object")
        return c

    command("list", "the catalog and local models: size on disk, status, whether each fits this machine")
    c = command("pull", "download a model into the Hugging Face cache and verify every file")
    c.add_argument("name", metavar="NAME")
    c.add_argument("--quant", default=None, help="GGUF quantization, such as Q4_K_M (GGUF entries)")
    c.add_argument("--revision", default=None, help="branch, tag or commit (default: the catalog's, often pinned)")
    c.add_argument("--force", action="store_true", help="pull even when it will not fit in memory or its family "
                   "does not run here yet")
    c = command("use", "make a model the active one (it must be pulled, or be a local folder)")
    c.add_argument("name", metavar="NAME")
    c = command("rm", "delete a pulled model's files from the cache (files other models share stay); "
                "a local folder entry is only forgotten")
    c.add_argument("name", metavar="NAME")
    c.add_argument("--quant", default=None, help="only this GGUF quantization")
    c.add_argument("--forget", action="store_true", help="also remove a user entry from config.toml")
    c = command("info", "everything known about one model")
    c.add_argument("name", metavar="NAME")
    c = command("verify", "hash every pulled file again (all pulled models, or one)")
    c.add_argument("name", nargs="?", metavar="NAME")
    c = command("add", "add a hub repository or a local folder / .gguf file as a catalog entry")
    c.add_argument("source", metavar="REPO|PATH", help="REPO (org/name) or a local path")
    c.add_argument("--name", default=None, help="name to use it by (default: the repository's name)")
    c.add_argument("--revision", default="main")
    c.add_argument("--quant", default=None, help="GGUF quantization to pull from a GGUF repository")
    c = command("measure", "load a model, fill one hole, record its peak memory and speed on this machine")
    c.add_argument("name", metavar="NAME")
    c.add_argument("--tokens", type=int, default=32, help="tokens in the hole, one denoising step each (default 32)")
    c.add_argument("--device", default=None, help="auto (default), cpu, cuda or cuda:N")
    return p


def parse(argv: list[str]) -> argparse.Namespace:
    """The namespace of one command line; ``CommandLineError`` (one line) for a wrong one."""
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["list", *argv]  # `canvasedit models` and `canvasedit models --json` list
    args, extra = build_parser().parse_known_args(argv)
    if extra:
        raise CommandLineError(f"{PROG} {args.command}", f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: list[str]) -> int:
    from canvasedit.config import ConfigError
    from canvasedit.models.errors import ModelError

    try:
        args = parse(argv)
    except CommandLineError as exc:
        return _fail(str(exc), exc.prog)
    prog = f"{PROG} {args.command}"
    handlers = {"list": cmd_list, "pull": cmd_pull, "use": cmd_use, "rm": cmd_rm, "info": cmd_info,
                "verify": cmd_verify, "add": cmd_add, "measure": cmd_measure}
    try:
        return handlers[args.command](args)
    except (ModelError, ConfigError, UsageError) as exc:
        return _fail(str(exc), prog)
    except KeyboardInterrupt:
        print("canvasedit: interrupted; what was downloaded is kept and the next pull continues from it",
              file=sys.stderr)
        return EXIT_INTERRUPTED


# ------------------------------------------------------------------------------------------- helpers


def _emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> int:
    print(json.dumps(data, ensure_ascii=False) if args.json else text)
    return EXIT_OK


def _settings():
    from canvasedit.config import load_settings

    return load_settings()


def _entry(spec: str, settings: Any):
    from canvasedit.models import catalog

    found = catalog.find(spec, settings)
    if found is None:
        raise UsageError(f"no catalog entry named {spec!r}; see `canvasedit models list`, or add it with "
                         "`canvasedit models add REPO`")
    return found


def _quant(entry: Any, quant: str | None) -> str | None:
    """The quantization asked for, refused for an entry that is not a GGUF repository."""
    if quant is None:
        return None
    if entry.kind != "gguf":
        what = {"bundled": "is bundled", "folder": f"is the local path {entry.path}"}.get(entry.kind, "has safetensors weights")
        raise UsageError(f"--quant applies only to GGUF models, and {entry.name} {what}")
    if entry.quants and entry.quants[0].filename:
        entry.quant(quant)  # one line naming the quantizations it has
    return quant


def _short(commit: str | None) -> str:
    return commit[:8] if commit else "-"


def _active(settings: Any) -> str:
    from canvasedit.models.catalog import DEFAULT_MODEL

    return settings.model.active or DEFAULT_MODEL


def _machine_json(m: Any) -> dict[str, Any]:
    return dataclasses.asdict(m)


# ------------------------------------------------------------------------------------------- commands


def cmd_list(args: argparse.Namespace) -> int:
    from canvasedit.models import catalog, fit, overview, store

    settings = _settings()
    machine = fit.machine()
    measured = store.measurements()
    rows = [overview.describe(e, machine, measured) for e in catalog.entries(settings).values()]
    active = _active(settings)
    for row in rows:
        row["active"] = catalog.split_spec(active)[0] == row["name"]
    data = {"active": active, "cache": str(store.hub_cache()), "machine": _machine_json(machine), "models": rows}
    header = (f"  {'NAME':<26} {'FAMILY':<11} {'PARAMS':>7} {'SIZE':>9}  {'STATUS':<16} {'REVISION':<8} "
              f"{'COMMIT':<9} {'FIT':<10} MEASURED")
    lines = [header]
    moved = False
    for r in rows:
        size = fit.human_bytes(r["disk_bytes"]) if r["disk_bytes"] else (
            "~" + fit.human_bytes(r["quants"][0]["bytes"] if r["quants"] else r["download_bytes"])
            if (r["quants"] or r["download_bytes"]) else "?")
        status = r["status"]
        if status == "partial" and r["partial_bytes"]:
            status = f"partial {fit.human_bytes(r['partial_bytes'])}"
        family = r["family"] + ("" if r["runs"] else "*")
        m = r["measured"]
        seen = f"{fit.human_bytes(m['peak_bytes'])} peak, {m['tokens_per_s']:.0f} tok/s ({m['device']})" if m else ""
        params = f"{r['params'] / 1e9:.2f}B" if r["params"] >= 1e8 else (f"{r['params'] / 1e6:.0f}M" if r["params"] else "?")
        mark = "*" if r["active"] else " "
        revision = (r["revision"][:8] if r["pinned"] else r["revision"]) if r["repo"] else "-"
        commit = _short(r["commit"]) + ("*" if r["pinned"] and r["commit"] and r["commit"] != r["revision"] else "")
        moved = moved or commit.endswith("*")
        lines.append(f"{mark} {r['name']:<26} {family:<11} {params:>7} {size:>9}  {status:<16} {revision:<8} "
                     f"{commit:<9} {r['fit']['label']:<10} {seen}")
    ram = f"{fit.human_bytes(machine.ram_available)} RAM available"
    gpu = f", {machine.gpu} with {fit.human_bytes(machine.vram_free)} free" if machine.gpu else ", no CUDA GPU"
    lines.append(f"\n* active model   family* = not runnable by this CanvasEdit yet   fit = estimated for a "
                 f"{fit.CANVAS_TOKENS}-token canvas; this machine: {ram}{gpu}")
    lines.append("revision = the catalog's (a pinned commit, or a branch)   commit = the one in the cache"
                 + ("   commit* = not the pinned one" if moved else ""))
    lines.append(f"cache: {store.hub_cache()}   pull one with: canvasedit models pull NAME")
    return _emit(args, data, "\n".join(lines))


class _Bar:
    """A tqdm bar on stderr fed by ``download.Progress`` reports."""

    def __init__(self) -> None:
        self.bar = None
        self.phase = ""

    def __call__(self, p: Any) -> None:
        from tqdm import tqdm

        if p.phase == "plan":
            self.bar = tqdm(total=p.total, initial=p.done, unit="B", unit_scale=True, unit_divisor=1000,
                            file=sys.stderr, desc="pulling", dynamic_ncols=True, leave=True)
            return
        if self.bar is None:
            return
        if p.phase in ("download", "verify") and p.file:
            self.bar.set_description_str(("verifying " if p.phase == "verify" else "") + p.file[-32:], refresh=False)
        self.bar.n = p.done
        self.bar.refresh()
        if p.phase == "done":
            self.bar.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_pull(args: argparse.Namespace) -> int:
    from canvasedit.models import download, fit

    entry, quant = _entry(args.name, _settings())
    quant = _quant(entry, args.quant or quant)
    if not entry.on_hub:
        where = "is bundled with CanvasEdit" if entry.kind == "bundled" else f"is the local path {entry.path}"
        return _emit(args, {"name": entry.name, "fetched_bytes": 0, "local": True},
                     f"{entry.name} {where}; there is nothing to pull")
    bar = _Bar() if not args.json else None
    try:
        report = download.pull(entry, quant=quant, revision=args.revision, force=args.force, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    data = {"name": report.name, "repo": report.repo, "commit": report.commit, "path": str(report.path),
            "bytes": report.total, "fetched_bytes": report.fetched, "files": report.files, "offline": report.offline,
            "verified": True}
    spec = entry.name + (f":{quant}" if quant else "")
    if report.offline:
        text = f"{entry.name} is in the cache (offline; nothing fetched): {report.path}"
    elif report.fetched == 0:
        text = f"{entry.name} is already downloaded and verified ({fit.human_bytes(report.total)}): {report.path}"
    else:
        text = (f"pulled {entry.name}: {report.files} files, {fit.human_bytes(report.fetched)} downloaded, all "
                f"verified against the hub's hashes\n  {report.path}\n  use it with: canvasedit models use {spec}")
    return _emit(args, data, text)


def cmd_use(args: argparse.Namespace) -> int:
    from canvasedit.config import save_settings
    from canvasedit.models import catalog

    settings = _settings()
    found = catalog.find(args.name, settings)
    if found is None and not Path(args.name).expanduser().exists():
        raise UsageError(f"no catalog entry or path named {args.name!r}; see `canvasedit models list`")
    path = catalog.resolve_model(args.name, settings)  # pulled and verified, or a one-line error
    active = args.name if found is not None else str(Path(args.name).expanduser().resolve())
    if found is not None and found[0].name == catalog.DEFAULT_MODEL:
        active = ""
    save_settings(dataclasses.replace(settings, model=dataclasses.replace(settings.model, active=active)))
    shown = active or catalog.DEFAULT_MODEL
    return _emit(args, {"active": shown, "path": str(path)}, f"active model: {shown} ({path})")


def cmd_rm(args: argparse.Namespace) -> int:
    from canvasedit.config import save_settings
    from canvasedit.models import catalog, download, fit
    from canvasedit.models.errors import ModelNotFound

    settings = _settings()
    entry, quant = _entry(args.name, settings)
    quant = _quant(entry, args.quant or quant)
    if entry.kind == "bundled":
        raise UsageError(f"{entry.name} is bundled with CanvasEdit and cannot be removed")
    forget = entry.user and (args.forget or entry.kind == "folder")
    freed = files = 0
    notes: list[str] = []
    kept: tuple[str, ...] = ()
    if entry.on_hub:
        try:
            report = download.remove(entry, quant, catalog.entries(settings).values())
        except ModelNotFound:
            if not forget:
                raise
            report = None  # nothing downloaded, and the entry is to go: forgetting it is all there is to do
        if report is not None:
            freed, files, kept = report.freed, report.files, report.kept_for
            notes.append(f"removed {entry.name}{':' + quant if quant else ''}: {files} files, "
                         f"{fit.human_bytes(freed)} freed" + (f" (with {report.partials} unfinished downloads)"
                                                              if report.partials else ""))
            if report.kept_for:
                users = ", ".join(report.kept_for)
                notes.append(f"kept the commit {users} {'uses' if len(report.kept_for) == 1 else 'use'} "
                             "(same repository)")
    models = dict(settings.models)
    if forget:
        models.pop(entry.name, None)
        notes.append(f"forgot the entry {entry.name} in config.toml" + (
            f"; the files at {entry.path} are untouched" if entry.kind == "folder" else ""))
    model = settings.model
    if catalog.split_spec(settings.model.active)[0] == entry.name and (quant is None or entry.kind != "gguf"):
        model = dataclasses.replace(settings.model, active="")
        notes.append(f"the active model is {catalog.DEFAULT_MODEL} again")
    if models != settings.models or model != settings.model:
        save_settings(dataclasses.replace(settings, models=models, model=model))  # an atomic write
    data = {"name": entry.name, "freed_bytes": freed, "files": files, "forgotten": forget}
    if kept:
        data["kept_for"] = list(kept)
    return _emit(args, data, "; ".join(notes))


def cmd_info(args: argparse.Namespace) -> int:
    from canvasedit.models import fit, overview, store

    settings = _settings()
    entry, _ = _entry(args.name, settings)
    machine = fit.machine()
    row = overview.describe(entry, machine, store.measurements())
    cpu = fit.estimate(entry, "cpu")
    row["estimates"] = {"cpu_float32": cpu.total, "cuda_bf16": fit.estimate(entry, "cuda").total,
                        "weights_cpu": cpu.weights, "activations_cpu": cpu.activations,
                        "canvas_tokens": min(entry.context or fit.CANVAS_TOKENS, fit.CANVAS_TOKENS)}
    lines = [f"{entry.name} — {entry.description}",
             f"  repository  {entry.repo or '(none)'}" + (f" @ {entry.revision}" + ("" if entry.pinned else " (unpinned)")
                                                        if entry.repo else ""),
             f"  family      {entry.family}" + ("" if row["runs"] else " (not runnable by this CanvasEdit yet)"),
             f"  parameters  {entry.params / 1e9:.3f}B   context {entry.context or '?'}   licence {entry.licence}",
             (f"  good for    {', '.join(entry.uses) or '?'}; "
              f"{'sees' if entry.sees_suffix else 'does not see'} the text after a hole"),
             f"  recipe      {json.dumps(row['effective_recipe'])}" + (
                 f" (the family's, with {json.dumps(dict(entry.recipe))} from this entry)" if entry.recipe
                 else " (the family's)"),
             f"  files       {', '.join(entry.files) if entry.files else 'config, tokenizer and weight files of the repository'}"]
    for q in entry.quants:
        lines.append(f"  quant       {q.name:<8} {q.filename}  ~{fit.human_bytes(q.size)}")
    if entry.repo:
        lines.append(f"  commit      {_commit_line(entry, row)}")
    lines += [f"  checked     {entry.verified or 'nothing recorded'}",
              f"  status      {row['status']}" + (f" at {row['path']}" if row["path"] else ""),
              (f"  memory      ~{fit.human_bytes(cpu.total)} on the CPU (float32), "
               f"~{fit.human_bytes(row['estimates']['cuda_bf16'])} on CUDA (bf16): {row['fit']['label']} here")]
    if row["measured"]:
        m = row["measured"]
        lines.append(f"  measured    {fit.human_bytes(m['peak_bytes'])} peak, {m['tokens_per_s']} tok/s on {m['device']}")
    return _emit(args, row, "\n".join(lines))


def _commit_line(entry: Any, row: dict[str, Any]) -> str:
    """The commit in the cache beside the catalog's pin: "1a2b… in the cache, pulled as main"."""
    if not row.get("commit"):
        return "none in the cache (not pulled)"
    line = f"{row['commit']} in the cache, pulled as {row['pulled_revision']}"
    if entry.pinned and row["commit"] != entry.revision:
        line += f"; not the catalog's pinned {entry.revision[:8]}"
    return line


def cmd_verify(args: argparse.Namespace) -> int:
    from canvasedit.models import catalog, download, store

    settings = _settings()
    if args.name:
        targets = [_entry(args.name, settings)[0]]
    else:
        pulled = {m.repo for m in store.manifests()}
        targets = [e for e in catalog.entries(settings).values() if e.repo in pulled]
    checked, problems, commits = 0, [], {}
    for entry in targets:
        manifest = store.find_manifest(entry)
        n, found = download.verify(entry)
        checked += n
        problems += [p.message for p in found]
        if manifest is not None:
            commits[entry.name] = manifest.commit
    if args.name and checked == 0:
        raise UsageError(f"{args.name} is not downloaded; nothing to verify")
    data = {"checked_files": checked, "models": [e.name for e in targets], "commits": commits, "problems": problems}
    which = f" (commit {_short(commits.get(targets[0].name))})" if args.name else ""
    text = "\n".join(problems) if problems else (
        f"all {checked} files of {len(targets)} model(s){which} match the hub's hashes")
    if args.json:
        print(json.dumps(data))
    elif problems:
        print(text, file=sys.stderr)
    else:
        print(text)
    return EXIT_BAD_INPUT if problems else EXIT_OK


def cmd_add(args: argparse.Namespace) -> int:
    from canvasedit.config import save_settings
    from canvasedit.models import catalog, registry
    from canvasedit.models.loading import read_config

    settings = _settings()
    source = Path(args.source).expanduser()
    if source.exists():
        if source.suffix.lower() == ".gguf":
            from canvasedit.models.gguf_file import read_gguf_info

            family = read_gguf_info(source).family.name
        else:
            family = registry.resolve(read_config(source)).name
        table: dict[str, Any] = {"path": str(source.resolve()), "family": family}
        name = args.name or source.stem.lower()
    elif "/" in args.source and not args.source.startswith((".", "/", "~")):
        from canvasedit.models import hub

        facts = hub.inspect_repo(args.source, args.revision)  # the registry checks the family here
        table = {"repo": args.source, "revision": args.revision, "family": facts["family"]}
        if facts["params"]:
            table["params"] = facts["params"]
        name = args.name or args.source.split("/")[-1].lower()
        if facts["kind"] == "gguf":
            table["kind"] = "gguf"
            table["quants"] = {q.name: {"file": q.filename, "size": q.size} for q in facts["quants"]}
            if args.quant:
                chosen = catalog.user_entry(name, table).quant(args.quant) or facts["quants"][0]  # or one line
                table["quant"], table["file"] = chosen.name, chosen.filename
        elif args.quant:
            raise UsageError(f"--quant applies only to GGUF repositories, and {args.source} has safetensors weights")
    else:
        raise UsageError(f"{args.source!r} is neither an existing path nor a hub repository (org/name)")
    if name in catalog.builtin_entries():
        raise UsageError(f"{name!r} is a built-in catalog entry; pick another with --name")
    save_settings(dataclasses.replace(settings, models={**settings.models, name: table}))
    return _emit(args, {"name": name, **table}, _added(name, catalog.user_entry(name, table)))


def _added(name: str, entry: Any) -> str:
    """What ``models add`` says: the entry, a GGUF repository's quantizations with sizes, the next command."""
    from canvasedit.models import fit

    if entry.kind == "folder":
        return f"added {name} ({entry.family}); next: canvasedit models use {name}"
    if entry.kind != "gguf":
        return f"added {name} ({entry.family}); next: canvasedit models pull {name}"
    lines = [f"added {name} ({entry.family}, GGUF): {len(entry.quants)} quantizations"]
    width = max(len(q.filename) for q in entry.quants)
    lines += [f"  {q.name:<8} {q.filename:<{width}}  {fit.human_bytes(q.size)}" for q in entry.quants]
    lines.append(f"next: canvasedit models pull {name} --quant {entry.quants[0].name}")
    return "\n".join(lines)


def cmd_measure(args: argparse.Namespace) -> int:
    import resource

    import torch

    from canvasedit.engine import Hole
    from canvasedit.engine.service import EngineService
    from canvasedit.models import catalog, fit, store

    settings = _settings()
    found = catalog.find(args.name, settings)
    path = catalog.resolve_model(args.name, settings)
    service = EngineService()
    service.record_measurements = False  # recorded below, under the catalog name
    backend = service.load(path, args.device or settings.model.device)
    text = "def area(width, height):\n    \"\"\"The area of a rectangle.\"\"\"\n    return width * height\n"
    at = text.index("    return")
    if not 1 <= args.tokens <= 4096:
        raise UsageError(f"--tokens must be in [1, 4096], found {args.tokens}")
    result = service.fill(text, [Hole(at, at, length=args.tokens)], settings.sampler, {"steps": args.tokens}).wait()
    if backend.device.startswith("cuda"):
        peak = torch.cuda.max_memory_allocated()
    else:  # Linux reports kilobytes, macOS bytes
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    name = found[0].name if found is not None else str(path)
    store.record_measurement(name, peak, result.tokens_per_second, backend.device, backend.name)
    service.close()
    data = {"name": name, "peak_bytes": peak, "tokens_per_s": round(result.tokens_per_second, 2),
            "device": backend.device, "backend": backend.name, "nfe": result.nfe}
    return _emit(args, data, f"{name}: {fit.human_bytes(peak)} peak, {result.tokens_per_second:.1f} tok/s "
                             f"({result.nfe} forward passes on {backend.device}); recorded for `models list`")
