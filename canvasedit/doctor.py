"""``canvasedit doctor``: what this machine gives CanvasEdit, and whether the active model loads.

    canvasedit doctor            # a readable report; exit 2 when something is wrong
    canvasedit doctor --json     # the same as one JSON object
    canvasedit doctor --no-load  # skip loading the model (seconds for a big one)

It reports Python, torch and its device (CUDA name, capability, memory), Triton and which
kernels run, llama-cpp-python and its build, free memory and disk, the config / data / cache /
state folders, the CPU threads chosen (``runtime.choose_threads``) and the active model with the
time it takes to load. Each probe catches its own failure and reports it as a problem, so the
doctor itself never stops half way: a machine with a broken install is the one that needs it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from canvasedit import paths, runtime

GIB = 1 << 30


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _install_kind() -> str:
    prefix = sys.prefix.replace("\\", "/")
    if getattr(sys, "frozen", False):
        return "app (PyInstaller)"
    if "/pipx/venvs/" in prefix:
        return "pipx"
    if "/uv/tools/" in prefix:
        return "uv tool"
    return "virtual environment" if sys.prefix != sys.base_prefix else "system Python"


def memory() -> dict[str, Any]:
    """Total and available RAM in bytes (``/proc/meminfo`` where there is one)."""
    info: dict[str, Any] = {}
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            fields = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f if line.count(":") == 1}
        info = {"total": fields["MemTotal"], "available": fields.get("MemAvailable", fields.get("MemFree"))}
    except (OSError, KeyError, ValueError, IndexError):
        try:
            page = os.sysconf("SC_PAGE_SIZE")
            info = {"total": page * os.sysconf("SC_PHYS_PAGES"), "available": page * os.sysconf("SC_AVPHYS_PAGES")}
        except (ValueError, OSError, AttributeError):
            info = {"total": None, "available": None}
    return info


def disk(folder: Path) -> dict[str, Any]:
    """Free and total bytes on the file system that holds ``folder`` (or its nearest existing parent)."""
    probe = folder
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    usage = shutil.disk_usage(probe)
    return {"path": str(folder), "free": usage.free, "total": usage.total}


def folders() -> dict[str, Any]:
    out = {}
    for name, folder in (("config", paths.config_dir()), ("data", paths.data_dir()),
                         ("cache", paths.cache_dir()), ("state", paths.state_dir())):
        probe = folder
        while not probe.exists() and probe.parent != probe:
            probe = probe.parent
        out[name] = {"path": str(folder), "exists": folder.is_dir(), "writable": os.access(probe, os.W_OK)}
    return out


def torch_report() -> dict[str, Any]:
    import torch

    report: dict[str, Any] = {"version": torch.__version__, "cuda_available": torch.cuda.is_available(),
                              "cuda_version": torch.version.cuda, "threads": torch.get_num_threads(),
                              "devices": []}
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            free, total = torch.cuda.mem_get_info(i)
            report["devices"].append({
                "name": props.name, "capability": f"{props.major}.{props.minor}",
                "memory_total": total, "memory_free": free, "bf16": torch.cuda.is_bf16_supported(),
            })
    return report


def kernels_report() -> dict[str, Any]:
    from canvasedit.kernels import HAS_TRITON, kernel_choice

    report: dict[str, Any] = {"triton": _package_version("triton"), "installed": HAS_TRITON,
                              "override": os.environ.get("CANVASEDIT_KERNELS", "auto")}
    report["choice"] = kernel_choice()
    import torch

    uses_triton = report["choice"] != "reference" and HAS_TRITON and torch.cuda.is_available()
    report["runs"] = "Triton on CUDA" if uses_triton else "PyTorch reference"
    return report


def llama_report() -> dict[str, Any]:
    version = _package_version("llama_cpp_python")
    report: dict[str, Any] = {"version": version, "gguf": _package_version("gguf")}
    if version is None:
        report["hint"] = f"GGUF models need the gguf extra: {runtime.install_command('gguf')}"
        return report
    from canvasedit.engine.backends.gguf import build_info

    report.update(build_info())
    return report


def model_report(settings: Any, load: bool) -> dict[str, Any]:
    from canvasedit.models.catalog import resolve_model

    spec = settings.model.active or None
    report: dict[str, Any] = {"active": spec or "canvasedit-tiny (bundled default)", "device": settings.model.device}
    path = resolve_model(spec)
    report["path"] = str(path)
    if not load:
        return report
    from canvasedit.engine import open_backend

    start = time.perf_counter()
    backend = open_backend(path, device=settings.model.device)
    report.update({
        "loads": True, "load_s": round(time.perf_counter() - start, 3), "backend": backend.name,
        "runs_on": backend.device, "context": backend.max_length,
    })
    close = getattr(backend, "close", None)
    if close is not None:
        close()
    return report


def collect(load_model: bool = True) -> dict[str, Any]:
    """Every probe's findings, and ``problems``: one line for each thing that is wrong."""
    from canvasedit.config import ConfigError, Settings, load_settings

    report: dict[str, Any] = {"problems": []}
    problems: list[str] = report["problems"]

    def probe(name: str, fn: Any, *args: Any) -> None:
        try:
            report[name] = fn(*args)
        except Exception as exc:  # noqa: BLE001  a failing probe is a finding, and the others still run
            report[name] = {"error": f"{type(exc).__name__}: {exc}"}
            problems.append(f"{name}: {runtime.missing_extra(exc) or exc}")

    report["canvasedit"] = {"version": runtime.version(), "install": _install_kind(),
                            "python": platform.python_version(), "executable": sys.executable,
                            "platform": platform.platform()}
    try:
        settings = load_settings()
        report["config"] = {"path": str(paths.config_file()), "exists": paths.config_file().is_file(), "valid": True}
    except ConfigError as exc:
        settings = Settings()
        report["config"] = {"path": str(paths.config_file()), "exists": True, "valid": False, "error": str(exc)}
        problems.append(f"config: {exc} (the defaults are used)")
    threads, why = runtime.choose_threads(settings.model.threads)
    runtime.apply_threads(settings.model.threads)  # before torch is imported, as the editor and CLI do
    report["threads"] = {"chosen": threads, "why": why, "cores": runtime.available_cores(),
                         "cpu_count": os.cpu_count(), "setting": settings.model.threads,
                         "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
                         "wait_policy": os.environ.get("OMP_WAIT_POLICY")}
    probe("torch", torch_report)
    probe("kernels", kernels_report)
    probe("llama_cpp", llama_report)
    probe("memory", memory)
    probe("disk", disk, paths.data_dir())
    probe("folders", folders)
    for name, folder in report.get("folders", {}).items():
        if isinstance(folder, dict) and not folder.get("writable", True):
            problems.append(f"{name} folder {folder['path']} is not writable")
    probe("model", model_report, settings, load_model)
    return report


def _size(n: int | None) -> str:
    return "?" if n is None else f"{n / GIB:.1f} GiB"


def format_report(report: dict[str, Any]) -> str:
    """The report as aligned lines for a terminal."""
    lines = []

    def row(label: str, text: str) -> None:
        lines.append(f"{label:<11} {text}")

    def failed(section: str) -> bool:
        error = report.get(section, {}).get("error")
        if error:
            row(section, f"✗ {error}")
        return bool(error)

    c = report["canvasedit"]
    row("canvasedit", f"{c['version']} ({c['install']}) · Python {c['python']} · {c['executable']}")
    row("platform", c["platform"])
    if not failed("torch"):
        t = report["torch"]
        cuda = f"CUDA {t['cuda_version']}" if t["cuda_available"] else "no CUDA device (CPU only)"
        row("torch", f"{t['version']} · {cuda}")
        for i, d in enumerate(t["devices"]):
            row(f"  cuda:{i}", f"{d['name']} · capability {d['capability']} · "
                               f"{_size(d['memory_free'])} free of {_size(d['memory_total'])}"
                               f"{' · bf16' if d['bf16'] else ''}")
    if not failed("kernels"):
        k = report["kernels"]
        row("triton", f"{k['triton'] or 'not installed'} · kernels: {k['runs']} (CANVASEDIT_KERNELS={k['override']})")
    if not failed("llama_cpp"):
        g = report["llama_cpp"]
        if g["version"] is None:
            row("llama-cpp", f"not installed · {g['hint']}")
        else:
            offload = "GPU offload" if g.get("gpu_offload") else "CPU only"
            row("llama-cpp", f"{g['version']} · {offload} · gguf {g['gguf'] or 'not installed'}")
            row("", g.get("system_info", ""))
    th = report["threads"]
    load = f" · load average {th['load_average'][0]}" if th["load_average"] else ""
    row("threads", f"{th['chosen']} ({th['why']}; {th['cores']} cores usable){load}")
    if not failed("memory"):
        m = report["memory"]
        row("memory", f"{_size(m['available'])} available of {_size(m['total'])}")
    if not failed("disk"):
        row("disk", f"{_size(report['disk']['free'])} free of {_size(report['disk']['total'])} "
                    f"for {report['disk']['path']}")
    cfg = report["config"]
    state = "✗ invalid" if not cfg["valid"] else "valid" if cfg["exists"] else "not created yet: defaults"
    row("config", f"{cfg['path']} ({state})")
    if not failed("folders"):
        for name in ("data", "cache", "state"):
            f = report["folders"][name]
            row(name, f"{f['path']}{'' if f['writable'] else ' ✗ not writable'}")
    if not failed("model"):
        m = report["model"]
        if "loads" in m:
            how = f"loads in {m['load_s']:.2f} s · {m['backend']} on {m['runs_on']} · context {m['context']} tokens"
        else:
            how = "not loaded (--no-load)"
        row("model", f"{m['active']} · {m['path']}")
        row("", how)
    problems = report["problems"]
    lines.append("")
    lines.append("no problems found" if not problems else f"{len(problems)} problem(s):")
    lines.extend(f"  ✗ {p}" for p in problems)
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    from canvasedit.cli import OneLineParser

    p: argparse.ArgumentParser = OneLineParser(
        prog="canvasedit doctor", description="Report what CanvasEdit finds on this machine; exit 2 on problems.")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-load", action="store_true", help="do not load the active model")
    args = p.parse_args(argv)
    report = collect(load_model=not args.no_load)
    print(json.dumps(report, indent=1) if args.json else format_report(report))
    return 2 if report["problems"] else 0
