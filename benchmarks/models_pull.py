"""What verified pulls cost: a pull through the stand-in hub, a pull again, the load-time check, a full verify.

    python benchmarks/models_pull.py                 # one 256 MB weights file
    python benchmarks/models_pull.py --mb 1024

Serves a random ``model.safetensors``-named file of ``--mb`` megabytes (plus a config.json) from
the test suite's stand-in hub on 127.0.0.1 and pulls it with ``canvasedit.models.download.pull``
through the real huggingface-hub client, into a temporary cache. Prints seconds and MB/s for:
the first pull (streamed, hashed while it arrives, linked), a second pull (the hub is asked for the
file list; no body moves), the check ``resolve_model`` runs at every load (stat() per file), and
``canvasedit models verify`` (every byte hashed again). The stand-in runs in this process and
shares its interpreter lock with the client, so the first pull's MB/s is a lower bound on what
the client does against a real server; importing torch (the family check) is timed apart. This
prints numbers; it is not a test.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["CANVASEDIT_HOME"] = tempfile.mkdtemp(prefix="canvasedit-bench-")
for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_CACHE", "HF_HOME"):
    os.environ.pop(var, None)

from canvasedit.models import download, registry, store
from canvasedit.models.catalog import CatalogEntry
from tests.hub_standin import HubStandIn


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mb", type=int, default=256, help="size of the weights file in MB")
    args = p.parse_args()
    size = args.mb * 1_000_000
    weights = os.urandom(size)
    entry = CatalogEntry(name="bench", family="llada", repo="bench/model", params=size // 4)
    with HubStandIn() as hub:
        os.environ["HF_ENDPOINT"] = hub.url
        hub.add_repo("bench/model", files={"config.json": b'{"architectures": ["LLaDAModelLM"]}',
                                           "model.safetensors": weights})
        del weights
        rows = []
        t = time.perf_counter()
        registry.families()  # the family check imports torch once; timed apart from the transfer
        rows.append(("import the family registry (torch)", time.perf_counter() - t, 0))
        t = time.perf_counter()
        report = download.pull(entry, force=True)
        first = time.perf_counter() - t
        rows.append(("first pull (stream + sha256 + link)", first, report.fetched))
        t = time.perf_counter()
        again = download.pull(entry, force=True)
        rows.append(("pull again (file list only)", time.perf_counter() - t, again.fetched))
        manifest = store.find_manifest(entry)
        assert manifest is not None
        t = time.perf_counter()
        hashed = store.check(manifest)
        rows.append((f"load-time check ({len(hashed)} files hashed)", time.perf_counter() - t, 0))
        t = time.perf_counter()
        checked, problems = download.verify(entry)
        rows.append((f"verify ({checked} files, {len(problems)} problems)", time.perf_counter() - t, report.total))
    print(f"{'step':<42} {'seconds':>9} {'MB/s':>9}")
    for name, seconds, moved in rows:
        rate = f"{moved / 1e6 / seconds:9.1f}" if moved else f"{'-':>9}"
        print(f"{name:<42} {seconds:9.3f} {rate}")
    print(f"\n{args.mb} MB weights file; cache in {store.hub_cache()}")


if __name__ == "__main__":
    main()
