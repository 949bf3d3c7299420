"""How many CPU threads a fill should use: ``canvasedit fill`` timed per thread setting, idle and loaded.

    .venv/bin/python benchmarks/threads.py                 # 1 and all cores, with and without busy cores
    .venv/bin/python benchmarks/threads.py --repeats 5 --busy 1 --threads 1,2,4

Each run is a real ``canvasedit fill`` subprocess on the bundled model (``samples/example.py``,
one 48-token hole, 16 steps) with ``[model] threads = N`` in a throw-away config. "default" is
what torch does on its own: one thread per core and OpenMP's default wait policy (its threads
spin before they sleep). ``--busy K`` starts K pure-Python busy loops for the duration, like a
build or a second program competing for the cores. Prints the median of the fill's own time
(``elapsed_s``, model load excluded) and of the whole command.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "example.py"


def spin(stop: multiprocessing.synchronize.Event) -> None:
    while not stop.is_set():
        pass


def run_fill(threads: int, policy: str | None, home: Path) -> tuple[float, float]:
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "config.toml").write_text(f"[model]\nthreads = {threads}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY")}
    env.update(CANVASEDIT_HOME=str(home), HF_HUB_OFFLINE="1")
    if policy is not None:
        env["OMP_WAIT_POLICY"] = policy
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "canvasedit", "fill", str(SAMPLE), "--hole", "30:1-30:1:48", "--steps", "16",
         "--json"], capture_output=True, text=True, env=env, check=False,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"fill failed: {proc.stderr.strip()}")
    return json.loads(proc.stdout)["elapsed_s"], wall


def main() -> None:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", default=f"1,{cores}", help="comma-separated thread counts (plus torch's default)")
    p.add_argument("--busy", default=f"0,{max(1, cores - 1)}", help="comma-separated counts of busy cores")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    settings: list[tuple[str, int, str | None]] = [("default", cores, "")]  # "" = OpenMP's own policy
    settings += [(f"{n} passive", n, None) for n in map(int, args.threads.split(","))]
    print(f"{cores} cores; load average {os.getloadavg()[0]:.2f} before start", flush=True)
    print(f"{'busy':>4}  {'threads':<12} {'fill s (median)':>16} {'command s':>10}  runs", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for busy in map(int, args.busy.split(",")):
            stop = multiprocessing.Event()
            spinners = [multiprocessing.Process(target=spin, args=(stop,), daemon=True) for _ in range(busy)]
            for s in spinners:
                s.start()
            try:
                # Settings take turns within each repeat, so a change in the machine's load hits them alike.
                runs: dict[str, list[tuple[float, float]]] = {label: [] for label, _, _ in settings}
                for _ in range(args.repeats):
                    for label, threads, policy in settings:
                        runs[label].append(run_fill(threads, policy, Path(tmp)))
                for label, times in runs.items():
                    fills, walls = zip(*times)
                    print(f"{busy:>4}  {label:<12} {statistics.median(fills):>16.2f} {statistics.median(walls):>10.2f}"
                          f"  {' '.join(f'{f:.2f}' for f in fills)}", flush=True)
            finally:
                stop.set()
                for s in spinners:
                    s.join()
    print(f"load average {os.getloadavg()[0]:.2f} at the end", flush=True)


if __name__ == "__main__":
    main()
