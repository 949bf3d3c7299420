"""What the process runs with: CanvasEdit's version, its optional extras, and its CPU threads.

    runtime.version()                          # "0.1.0", from the installed package's metadata
    runtime.missing_extra(exc)                 # a one-line install hint for an optional module, or None
    runtime.apply_threads(settings.model.threads)   # at start-up, before torch does any work
    runtime.settle_heap()                      # after a file or model is loaded: no 0.1 s garbage-collector pauses

Threads: PyTorch starts one intra-op thread per core, and its OpenMP threads spin while they
wait for work. On a machine whose cores are busy with anything else (a build, a second fill, the
terminal itself) the spinning threads fight for the cores: a fill of the bundled model took a
median 111.6 s with the default (2 threads) and 25.6 s with one thread on a loaded 2-core machine
(``benchmarks/threads.py`` prints the numbers). ``choose_threads`` therefore takes the ``[model] threads``
setting when it is set, else ``OMP_NUM_THREADS`` when the user exported it, else half the cores
this process may run on (at least one), and ``apply_threads`` also asks OpenMP to sleep rather
than spin while idle (``OMP_WAIT_POLICY=PASSIVE``, unless the user chose a policy). The GGUF
backend takes its llama.cpp thread count from torch, so one setting covers both.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
from importlib import metadata

PACKAGE = "canvasedit"

EXTRAS: dict[str, tuple[str, str]] = {
    "gguf": ("gguf", "GGUF files need"),
    "llama_cpp": ("gguf", "GGUF models need"),
    "triton": ("kernels", "the Triton kernels need"),
}
"""Optional modules: import name → (the extra that installs it, what needs it)."""


_set_by_us: str | None = None
"""The OMP_NUM_THREADS value this process exported itself (so it is not mistaken for the user's)."""


def version() -> str:
    """The installed CanvasEdit version; ``unknown`` when run from a source tree that was never installed."""
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return "unknown"


def install_command(extra: str) -> str:
    """How to add ``extra`` to this installation: pipx, uv tool and plain pip installs differ."""
    prefix = sys.prefix.replace("\\", "/")
    if "/pipx/venvs/" in prefix:
        return f"pipx install --force '{PACKAGE}[{extra}]'"
    if "/uv/tools/" in prefix:
        return f"uv tool install --reinstall '{PACKAGE}[{extra}]'"
    return f"pip install '{PACKAGE}[{extra}]'"


def missing_extra(exc: BaseException) -> str | None:
    """One line naming the extra to install when ``exc`` is an optional module's ImportError, else None."""
    if not isinstance(exc, ImportError):
        return None
    name = (exc.name or "").split(".")[0]
    if name not in EXTRAS:
        return None
    extra, what = EXTRAS[name]
    return f"{what} the optional package {name!r}, which is not installed: {install_command(extra)}"


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def choose_threads(setting: int = 0) -> tuple[int, str]:
    """``(threads, why)``: the setting if > 0, else ``OMP_NUM_THREADS`` if exported, else half the cores."""
    if setting > 0:
        return setting, "config.toml [model] threads"
    exported = os.environ.get("OMP_NUM_THREADS", "").strip()
    if exported.isdigit() and int(exported) > 0 and exported != _set_by_us:
        return int(exported), "OMP_NUM_THREADS"
    cores = available_cores()
    return max(1, cores // 2), f"automatic: half of {cores} cores"


def apply_threads(setting: int = 0) -> int:
    """Make torch (and so the GGUF backend) use ``choose_threads(setting)`` threads; returns the count.

    Before torch is imported this only sets the environment torch reads at import (the editor
    imports torch later, in its loading thread); afterwards it also calls ``torch.set_num_threads``.
    """
    threads, _ = choose_threads(setting)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    global _set_by_us
    if os.environ.get("OMP_NUM_THREADS") != str(threads):
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = _set_by_us = str(threads)
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


_unfreeze_at_exit = False


def settle_heap() -> None:
    """Collect garbage once, then exempt every object alive now from later collections (``gc.freeze``).

    A loaded 10,000-line document with its syntax tree, the editor's widgets and a model hold
    millions of objects, and each full collection walks all of them: 110–190 ms pauses that land
    on a keystroke every few seconds of scrolling (``benchmarks/editor_scroll.py`` showed them as
    its max column). Objects made after this call are collected as usual; the frozen ones are
    freed by reference counting when they are dropped, and a later call (the next file opened)
    puts them back under collection first.
    """
    global _unfreeze_at_exit
    if not _unfreeze_at_exit:
        atexit.register(gc.unfreeze)  # frozen objects are never freed at exit otherwise (extensions report leaks)
        _unfreeze_at_exit = True
    gc.unfreeze()
    gc.collect()
    gc.freeze()
