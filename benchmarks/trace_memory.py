"""How much memory a finished fill's step trace holds: one 128-token hole denoised in 128 steps.

The fill runs on the bundled model (one token committed per step), then the result is measured
two ways: the bytes ``tracemalloc`` sees freed when the result is dropped (its trace dominates),
and the size of the pickled trace. Each step's event is small and fixed in size when events
carry deltas; it grows with the hole's length when every event carries every hole's pieces.

    python benchmarks/trace_memory.py                 # tokens 128, steps 128
    python benchmarks/trace_memory.py --tokens 256 --steps 256
"""

from __future__ import annotations

import argparse
import gc
import pickle
import tracemalloc

import torch

from canvasedit.engine import Hole
from canvasedit.engine.service import EngineService


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--steps", type=int, default=128)
    args = parser.parse_args()
    torch.set_num_threads(1)  # the measure is memory, not speed: one thread keeps the machine free
    service = EngineService()
    service.record_measurements = False
    service.load(None)
    text = "def area(r):\n    return \n"
    at = text.index("return ") + len("return ")
    params = {"steps": args.steps, "block_length": args.tokens, "seed": 0, "temperature": 0.0}
    service.fill(text, [Hole(at, at, 4)], params).wait()  # warm-up: lazy imports, caches
    gc.collect()
    tracemalloc.start()
    handle = service.fill(text, [Hole(at, at, args.tokens)], params)
    result = handle.wait()
    del handle
    gc.collect()
    held = tracemalloc.get_traced_memory()[0]
    steps = len(result.trace)
    pickled = len(pickle.dumps(result.trace))
    del result
    gc.collect()
    freed = held - tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(f"hole {args.tokens} tokens · {steps} steps")
    print(f"result held (tracemalloc): {freed} bytes ({freed / steps:.0f} per step)")
    print(f"trace pickled: {pickled} bytes ({pickled / steps:.0f} per step)")


if __name__ == "__main__":
    main()
