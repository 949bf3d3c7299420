"""The bad-input list: every case is refused with exit 2, one stderr line, and nothing changed.

Each case builds its input in a temporary folder (a document, a config.toml, a damaged model
folder, an odd output target) and runs the real CLI in-process. The shared assertion: exit
code 2, nothing on stdout, exactly one line on stderr and no traceback, and every file that was
there before — the document, the model, the output target, the folder listings — is byte for
byte and mode for mode as it was, with no temporary left behind.

    pytest tests/test_bad_input.py -q          # one test per case; the count is the list's size
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from canvasedit.cli import main

SOURCE = "import math\n\n\ndef area(radius):\n    return math.pi * radius ** 2\n"


@dataclass
class Case:
    """The folder a case builds its input in, and what must come out of it unchanged."""

    tmp: Path
    home: Path
    tiny: Path
    watched: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.source = self.file("shapes.py", SOURCE.encode())

    def file(self, name: str, data: bytes, mode: int | None = None) -> Path:
        path = self.tmp / name
        path.write_bytes(data)
        if mode is not None:
            path.chmod(mode)
        self.watched.append(path)
        return path

    def fifo(self, name: str) -> Path:
        path = self.tmp / name
        os.mkfifo(path)
        self.watched.append(path)
        return path

    def folder(self, name: str) -> Path:
        path = self.tmp / name
        path.mkdir()
        self.watched.append(path)
        return path

    def config(self, data: str | bytes) -> None:
        folder = self.home / "config"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "config.toml"
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        self.watched.append(path)

    def model(self, config: dict | None = None, drop: tuple[str, ...] = (), weights: Callable | None = None,
              files: dict[str, bytes] | None = None) -> Path:
        """A copy of the tiny model with ``config`` keys replaced (None deletes) and weights rewritten."""
        folder = self.tmp / "model"
        shutil.copytree(self.tiny, folder)
        if config is not None:
            data = json.loads((folder / "config.json").read_text())
            for key, value in config.items():
                if value is None:
                    data.pop(key, None)
                else:
                    data[key] = value
            (folder / "config.json").write_text(json.dumps(data))
        if weights is not None:
            state = load_file(str(folder / "model.safetensors"))
            save_file(weights(state), str(folder / "model.safetensors"), metadata={"format": "pt"})
        for name in drop:
            (folder / name).unlink()
        for name, data in (files or {}).items():
            (folder / name).write_bytes(data)
        self.watched.append(folder)
        return folder

    def fill(self, *flags: str, model: Path | str | None = None, file: Path | None = None) -> list[str]:
        return ["fill", str(file or self.source), "--model", str(model or self.tiny), "--steps", "2", *flags]


def _snapshot(paths: list[Path]) -> dict:
    out = {}
    for path in paths:
        for p in [path, *(sorted(path.rglob("*")) if path.is_dir() and not path.is_symlink() else [])]:
            info = p.lstat()
            data = p.read_bytes() if stat.S_ISREG(info.st_mode) else None
            out[str(p)] = (stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode), data)
    return out


def _map(state, fn):
    return {k: fn(v) for k, v in state.items()}


def _nan(state):
    return _map(state, lambda v: torch.full_like(v, float("nan")))


def _inf(state):
    return _map(state, lambda v: torch.full_like(v, float("inf")))


def _ints(state):
    return _map(state, lambda v: v.to(torch.int32))


def _bools(state):
    return _map(state, lambda v: v > 0)


def _reshape(state):
    key = next(k for k in state if k.endswith("wte.weight"))
    return {**state, key: state[key][:, :32].contiguous()}


def _drop_one(state):
    key = next(k for k in state if "ff_norm" in k)
    return {k: v for k, v in state.items() if k != key}


def _extra(state):
    return {**state, "model.transformer.extra.weight": torch.zeros(3)}


def _index(weight_map: dict) -> bytes:
    return json.dumps({"metadata": {}, "weight_map": weight_map}).encode()


USAGE: dict[tuple[str, ...], str] = {
    # every subcommand's bad flags: one line naming the subcommand and the flag, and exit 2
    ("bench", "--sizes", "x"): "canvasedit bench: error: --sizes: expected comma-separated positive integers, got 'x'",
    ("bench", "--sizes", "256,"): "canvasedit bench: error: --sizes: expected",
    ("bench", "--holes", "0"): "canvasedit bench: error: --holes: expected comma-separated positive integers, got '0'",
    ("bench", "--holes", "-8"): "canvasedit bench: error: --holes: expected",
    ("bench", "--models", "bogus"): "canvasedit bench: error: --models: expected comma-separated models out of tiny,",
    ("bench", "--models", "tiny,"): "canvasedit bench: error: --models: expected",
    ("bench", "--steps", "-1"): "canvasedit bench: error: --steps: expected an integer of at least 0, got '-1'",
    ("bench", "--steps", "x"): "canvasedit bench: error: --steps: expected",
    ("bench", "--threads", "-1"): "canvasedit bench: error: --threads: expected an integer of at least 0",
    ("bench", "--parallel", "2"): "canvasedit bench: error: --parallel: expected comma-separated thresholds in (0, 1]",
    ("bench", "--parallel", "nan"): "canvasedit bench: error: --parallel: expected",
    ("bench", "--parallel", "0.9,x"): "canvasedit bench: error: --parallel: expected",
    ("bench", "--backends", "gguf-q2_k"): "canvasedit bench: error: --backends: expected comma-separated backends out "
                                          "of native, gguf-f32",
    ("bench", "--backends", "llama"): "canvasedit bench: error: --backends: expected",
    ("bench", "--cached", "exact"): "canvasedit bench: error: --cached: invalid choice: 'exact'",
    ("bench", "--device", "tpu"): "canvasedit bench: error: --device: unknown device 'tpu'",
    ("bench", "--bogus"): "canvasedit bench: error: unrecognized arguments: --bogus (see canvasedit bench --help)",
    ("bench", "extra"): "canvasedit bench: error: unrecognized arguments: extra",
    ("doctor", "x"): "canvasedit doctor: error: unrecognized arguments: x (see canvasedit doctor --help)",
    ("doctor", "--json=yes"): "canvasedit doctor: error: --json: ignored explicit argument 'yes'",
    ("serve", "--port", "x"): "canvasedit serve: error: --port: invalid int value: 'x' (see canvasedit serve --help)",
    ("serve", "--port", "70000"): "canvasedit serve: error: --port must be in 0-65535, found 70000",
    ("serve", "--port", "-1"): "canvasedit serve: error: --port must be in 0-65535",
    ("serve", "--max-tokens", "0"): "canvasedit serve: error: --max-tokens must be at least 1",
    ("serve", "--queue", "-1"): "canvasedit serve: error: --queue must be >= 0",
    ("serve", "--queue-timeout", "0"): "canvasedit serve: error: --queue must be >= 0 and --queue-timeout > 0",
    ("serve", "--api-key", " "): "canvasedit serve: error: --api-key must not be empty",
    ("serve", "--log-level", "loud"): "canvasedit serve: error: --log-level: invalid choice: 'loud'",
    ("serve", "--bogus"): "canvasedit serve: error: unrecognized arguments: --bogus",
    ("export-gguf", "--type"): "canvasedit export-gguf: error: --type: expected one argument",
    ("export-gguf", "a.gguf", "b.gguf"): "canvasedit export-gguf: error: unrecognized arguments: b.gguf",
    ("export-gguf", "a.gguf", "--type", "q2_k"): "canvasedit export-gguf: error: --type: invalid choice: 'q2_k'",
    ("fill", "x.py", "--steps", "x"): "canvasedit fill: error: --steps: invalid int value: 'x'",
    ("fill", "x.py", "--alg", "bogus"): "canvasedit fill: error: --alg: invalid choice: 'bogus'",
    ("fill", "x.py", "--in-place", "-o", "y.py"): "canvasedit fill: error: -o/--output: not allowed with argument "
                                                  "--in-place",
    ("score",): "canvasedit score: error: the following arguments are required: file",
    ("expand", "x.py", "--bogus"): "canvasedit expand: error: unrecognized arguments: --bogus",
    ("--model",): "canvasedit: error: --model: expected one argument (see canvasedit --help)",
}
"""Bad command lines and how their one stderr line starts."""

MORE_USAGE = [("bench", "--holes", "8,,32"), ("bench", "--sizes", ""), ("serve", "--host", "0.0.0.0", "--api-key", ""),
              ("serve", "--max-body-bytes", "-5"), ("doctor", "--no-load", "--bogus")]
"""Bad command lines whose one line is checked only by the shared assertion."""


CASES: dict[str, Callable[[Case], list[str]]] = {
    # --- the document -------------------------------------------------------------------------
    "file missing": lambda c: c.fill("--hole", "1:1-1:1:2", file=c.tmp / "nope.py"),
    "file is a directory": lambda c: c.fill("--hole", "1:1-1:1:2", file=c.folder("dir")),
    "file is a fifo": lambda c: c.fill("--hole", "1:1-1:1:2", file=c.fifo("pipe")),
    "file is a dangling symlink": lambda c: (c.tmp / "link").symlink_to(c.tmp / "gone") or c.fill(
        "--hole", "1:1-1:1:2", file=c.tmp / "link"),
    "file NUL at start": lambda c: c.fill("--hole", "1:1-1:1:2", file=c.file("a.bin", b"\0abc")),
    "file NUL after 8 KiB": lambda c: c.fill("--hole", "1:1-1:1:2", file=c.file("a.txt", b"a" * 9000 + b"\0")),
    "file NUL in UTF-16": lambda c: c.fill("--hole", "1:1-1:1:2", file=c.file(
        "w.txt", b"\xff\xfe" + "a\0b".encode("utf-16-le"))),
    "file latin-1": lambda c: c.fill("--hole", "1:1-1:1:2", file=c.file("l.txt", "caf\xe9\n".encode("latin-1"))),
    "file UTF-32": lambda c: c.fill("--hole", "1:1-1:1:2", file=c.file("u.txt", b"\xff\xfe\0\0" + "x".encode(
        "utf-32-le"))),
    "file broken UTF-16": lambda c: c.fill("--hole", "1:1-1:1:2", file=c.file("b.txt", b"\xff\xfe\x00\xd8")),
    "file truncated UTF-8": lambda c: c.fill("--hole", "1:1-1:1:2", file=c.file("t.txt", "é".encode()[:1])),
    "file over max_file_bytes": lambda c: c.config("[editor]\nmax_file_bytes = 10\n") or c.fill("--hole", "1:1-1:1:2"),
    "file over 5 MB default": lambda c: c.fill("--hole", "1:1-1:1:2", file=c.file("big.txt", b"x" * 5_000_001)),
    "file name with a control char": lambda c: c.fill("--hole", "1:1-1:1:2", file=c.tmp / "a\x01b"),
    "file empty path": lambda c: ["fill", "", "--hole", "1:1-1:1:2", "--model", str(c.tiny)],
    "file is /dev/null-like device": lambda c: _device(c) or c.fill("--hole", "1:1-1:1:2", file=c.tmp / "dev"),
    # --- holes --------------------------------------------------------------------------------
    **{f"hole {spec!r}": lambda c, spec=spec: c.fill("--hole", spec) for spec in [
        "", " ", "x", "1", "1:1", "1:1-", "-1:1", "1:1-1", "1-1", "1:1-1:1:", "1:1--1:1", "a:b-c:d",
        "0:1-0:1", "1:0-1:0", "99:1-99:1", "1:99-1:99", "7:1-7:1", "2:1-1:1", "1:5-1:1", "1:1-1:1:0",
        "1:1-1:1:-3", "1:1-1:1:abc", "1:1-1:1:4:4", "1:1-1:1:5000", "1:1-1:1:10000000000",
        "1:1-1:1:999999999999999999999999999999", "\u0661:\u0661-\u0661:\u0661", "1:1-1:1\x00", "1:1:1-1:1",
        "1:1-2:1:999", "1:1-1:1:1e3", "+1:1-1:1", "1:1-1:1 2",
    ]},
    "holes overlap": lambda c: c.fill("--hole", "4:1-4:10", "--hole", "4:5-4:12"),
    "holes at one point": lambda c: c.fill("--hole", "4:1-4:1:2", "--hole", "4:1-4:1:3"),
    "holes same range": lambda c: c.fill("--hole", "4:1-4:5", "--hole", "4:1-4:5"),
    "no hole at all": lambda c: c.fill(),
    "revise empty range": lambda c: c.fill("--revise", "4:1-4:1"),
    "revise with a length": lambda c: c.fill("--revise", "4:1-4:5:3"),
    "revise outside": lambda c: c.fill("--revise", "40:1-41:1"),
    **{f"revise fraction {f}": lambda c, f=f: c.fill("--revise", "4:1-4:10", "--revise-fraction", f)
       for f in ["0", "-1", "1.5", "nan", "inf", "x"]},
    "hole longer than the context": lambda c: c.fill("--hole", "1:1-1:1:300"),
    "holes together longer than the context": lambda c: c.fill("--hole", "1:1-1:1:200", "--hole", "5:1-5:1:200"),
    # --- sampler flags ------------------------------------------------------------------------
    **{f"flag {flag} {value}": lambda c, flag=flag, value=value: c.fill("--hole", "1:1-1:1:2", flag, value)
       for flag, value in [
           ("--steps", "-1"), ("--steps", "10000000000000"), ("--steps", "x"), ("--steps", "1.5"),
           ("--block-length", "-1"), ("--block-length", "x"),
           ("--temperature", "nan"), ("--temperature", "inf"), ("--temperature", "-1"), ("--temperature", "1e999"),
           ("--temperature", "x"), ("--top-k", "-1"), ("--top-p", "0"), ("--top-p", "1.5"), ("--top-p", "nan"),
           ("--threshold", "2"), ("--threshold", "-0.1"), ("--threshold", "nan"),
           ("--revise-below", "nan"), ("--revise-below", "2"), ("--alg-temp", "nan"), ("--alg-temp", "-1"),
           ("--seed", "-1"), ("--seed", str(2**63)), ("--seed", "123456789012345678901234567890"), ("--seed", "1.5"),
           ("--alg", "bogus"), ("--schedule", "bogus"), ("--device", "tpu"), ("--device", "cuda:99"),
       ]},
    "flag --steps 0": lambda c: c.fill("--hole", "1:1-1:1:2", "--steps", "0"),
    # --- config.toml --------------------------------------------------------------------------
    **{f"config {name}": lambda c, text=text: c.config(text) or c.fill("--hole", "1:1-1:1:2")
       for name, text in [
           ("not TOML", "[sampler\n"), ("not UTF-8", b"[editor]\ntheme = \"caf\xe9\"\n"),
           ("UTF-16", "[editor]\n".encode("utf-16")), ("NUL bytes", b"\0\0\0"),
           ("steps string", "[sampler]\nsteps = \"x\"\n"), ("steps 0", "[sampler]\nsteps = 0\n"),
           ("temperature nan", "[sampler]\ntemperature = nan\n"), ("temperature inf", "[sampler]\ntemperature = inf\n"),
           ("algorithm bogus", "[sampler]\nalgorithm = \"bogus\"\n"), ("seed -1", "[sampler]\nseed = -1\n"),
           ("max_file_bytes 0", "[editor]\nmax_file_bytes = 0\n"), ("max_file_bytes string",
                                                                    "[editor]\nmax_file_bytes = \"big\"\n"),
           ("hole_length -1", "[editor]\nhole_length = -1\n"), ("theme number", "[editor]\ntheme = 5\n"),
           ("revise_fraction 2", "[editor]\nrevise_fraction = 2.0\n"), ("device tpu", "[model]\ndevice = \"tpu\"\n"),
           ("threads -1", "[model]\nthreads = -1\n"), ("threads string", "[model]\nthreads = \"many\"\n"),
           ("threads huge", "[model]\nthreads = 100000\n"), ("active number", "[model]\nactive = 5\n"),
           ("keys number", "[keys]\nfill = 5\n"), ("sampler not a table", "sampler = 5\n"),
           ("model an array", "model = [1, 2]\n"), ("editor a string", "editor = \"x\"\n"),
       ]},
    "config active missing folder": lambda c: c.config("[model]\nactive = \"/nonexistent/model\"\n") or [
        "fill", str(c.source), "--hole", "1:1-1:1:2"],
    "config is a directory": lambda c: (c.home / "config" / "config.toml").mkdir(parents=True) or c.fill(
        "--hole", "1:1-1:1:2"),
    "config is a fifo": lambda c: (c.home / "config").mkdir(parents=True) or os.mkfifo(
        c.home / "config" / "config.toml") or c.fill("--hole", "1:1-1:1:2"),
    # --- the model folder ---------------------------------------------------------------------
    "model missing": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.tmp / "none"),
    "model is a file": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.file("m.txt", b"x")),
    "model catalog entry not downloaded": lambda c: c.fill("--hole", "1:1-1:1:2", model="llada-8b-instruct"),
    "model unknown name": lambda c: c.fill("--hole", "1:1-1:1:2", model="no-such-model"),
    "model no config.json": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.model(drop=("config.json",))),
    "model config not JSON": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.model(files={"config.json": b"{"})),
    "model config an array": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.model(files={"config.json": b"[1]"})),
    "model config not UTF-8": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.model(files={"config.json": b"\xff{}"})),
    **{f"model config {key}={value!r}": lambda c, key=key, value=value: c.fill(
        "--hole", "1:1-1:1:2", model=c.model(config={key: value})) for key, value in [
        ("architectures", 5), ("architectures", []), ("architectures", ["Bogus"]), ("d_model", -256),
        ("d_model", "64"), ("n_heads", 0), ("n_heads", 3), ("n_layers", 0), ("n_kv_heads", 3),
        ("mask_token_id", 999999), ("mask_token_id", -1), ("max_sequence_length", 1e12),
        ("max_sequence_length", 0), ("vocab_size", "x"), ("embedding_size", 10), ("rms_norm_eps", "tiny"),
        ("d_model", True), ("mlp_hidden_size", 1.5), ("architectures", None),
    ]},
    "model weights all NaN": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.model(weights=_nan)),
    "model weights all inf": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.model(weights=_inf)),
    "model weights integers": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.model(weights=_ints)),
    "model weights booleans": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.model(weights=_bools)),
    "model weights wrong shape": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.model(weights=_reshape)),
    "model weights missing a tensor": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.model(weights=_drop_one)),
    "model weights an extra tensor": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.model(weights=_extra)),
    "model weights truncated": lambda c: c.fill("--hole", "1:1-1:1:2", model=_truncate(c.model())),
    "model weights empty file": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.model(
        files={"model.safetensors": b""})),
    "model only pickle weights": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.model(
        drop=("model.safetensors",), files={"pytorch_model.bin": b"\x80\x04K\x01."})),
    "model shard index outside the folder": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.model(files={
        "model.safetensors.index.json": _index({"x": "../outside.safetensors"})})),
    "model shard index absolute path": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.model(files={
        "model.safetensors.index.json": _index({"x": "/etc/passwd"})})),
    "model shard index names a missing shard": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.model(files={
        "model.safetensors.index.json": _index({"x": "model-00002.safetensors"})})),
    "model shard index not JSON": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.model(files={
        "model.safetensors.index.json": b"{"})),
    "model shard index weight_map a list": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.model(files={
        "model.safetensors.index.json": b'{"weight_map": [1]}'})),
    "model no tokenizer": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.model(drop=("tokenizer.json",))),
    "model tokenizer not JSON": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.model(
        files={"tokenizer.json": b"{"})),
    "model tokenizer needs remote code": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.model(
        drop=("tokenizer.json",), files={"tokenizer_config.json": json.dumps(
            {"auto_map": {"AutoTokenizer": ["tok.MyTokenizer", None]}, "tokenizer_class": "MyTokenizer"}).encode(),
            "vocab.json": b"{}", "tok.py": b"raise SystemExit('repository code ran')\n"})),
    # --- GGUF and export ----------------------------------------------------------------------
    "gguf empty": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.file("e.gguf", b"")),
    "gguf random bytes": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.file("r.gguf", os.urandom(4096))),
    "gguf magic only": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.file("m.gguf", b"GGUF\x03\0\0\0")),
    "gguf is a directory": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.folder("d.gguf")),
    "gguf missing": lambda c: c.fill("--hole", "1:1-1:1:2", model=c.tmp / "none.gguf"),
    "gguf on cuda": lambda c: c.fill("--hole", "1:1-1:1:2", "--device", "cuda", model=c.file("x.gguf", b"GGUF")),
    "gguf without the gguf package": lambda c: _without("gguf") or c.fill("--hole", "1:1-1:1:2", model=c.file(
        "y.gguf", b"GGUF")),
    "export not .gguf": lambda c: ["export-gguf", str(c.tmp / "m.bin"), "--model", str(c.tiny)],
    "export bad type": lambda c: ["export-gguf", str(c.tmp / "m.gguf"), "--model", str(c.tiny), "--type", "q2_k"],
    "export model missing": lambda c: ["export-gguf", str(c.tmp / "m.gguf"), "--model", str(c.tmp / "none")],
    "export wrong-shape checkpoint": lambda c: ["export-gguf", str(c.tmp / "m.gguf"), "--model", str(
        c.model(weights=_reshape))],
    "export missing a tensor": lambda c: ["export-gguf", str(c.tmp / "m.gguf"), "--model", str(
        c.model(weights=_drop_one))],
    "export onto a fifo": lambda c: ["export-gguf", str(c.fifo("out.gguf")), "--model", str(c.tiny)],
    "export onto a directory": lambda c: ["export-gguf", str(c.folder("out.gguf")), "--model", str(c.tiny)],
    "export onto a read-only file": lambda c: ["export-gguf", str(c.file("ro.gguf", b"keep", 0o444)), "--model",
                                               str(c.tiny)],
    "export without the gguf package": lambda c: _without("gguf") or ["export-gguf", str(c.tmp / "m.gguf"),
                                                                      "--model", str(c.tiny)],
    # --- where the result goes ----------------------------------------------------------------
    "output onto a fifo": lambda c: c.fill("--hole", "1:1-1:1:2", "-o", str(c.fifo("out"))),
    "output onto a directory": lambda c: c.fill("--hole", "1:1-1:1:2", "-o", str(c.folder("outdir"))),
    "output onto a device": lambda c: _device(c) or c.fill("--hole", "1:1-1:1:2", "-o", str(c.tmp / "dev")),
    "output into a missing folder": lambda c: c.fill("--hole", "1:1-1:1:2", "-o", str(c.tmp / "no" / "out.py")),
    "output onto a read-only file": lambda c: c.fill("--hole", "1:1-1:1:2", "-o", str(c.file("ro.py", b"x", 0o444))),
    "in-place on a read-only file": lambda c: c.source.chmod(0o444) or c.fill("--hole", "1:1-1:1:2", "--in-place"),
    "in-place and output together": lambda c: c.fill("--hole", "1:1-1:1:2", "--in-place", "-o", str(c.tmp / "o.py")),
    # --- usage --------------------------------------------------------------------------------
    "usage fill alone": lambda c: ["fill"],
    "usage unknown flag": lambda c: c.fill("--hole", "1:1-1:1:2", "--bogus"),
    "usage flag without value": lambda c: ["fill", str(c.source), "--hole"],
    "usage export alone": lambda c: ["export-gguf"],
    "usage doctor flag": lambda c: ["doctor", "--bogus"],
    "usage editor flag": lambda c: ["--bogus"],
    "usage editor two files": lambda c: [str(c.source), str(c.source)],
    **{f"usage {' '.join(argv)}": lambda c, argv=argv: list(argv) for argv in [*USAGE, *MORE_USAGE]},
    # --- the editor's own start-up refusals ---------------------------------------------------
    "editor binary file": lambda c: [str(c.file("e.bin", b"\0\x01"))],
    "editor directory": lambda c: [str(c.folder("edir"))],
    "editor fifo": lambda c: [str(c.fifo("epipe"))],
    "editor latin-1 file": lambda c: [str(c.file("e.txt", "\xe9".encode("latin-1")))],
    "editor non-UTF-8 config and a binary file": lambda c: c.config(b"\xff\xfe\xfa") or [str(c.file("e2.bin",
                                                                                                  b"\0"))],
    "editor file over max_file_bytes": lambda c: c.config("[editor]\nmax_file_bytes = 3\n") or [str(c.source)],
}


def _device(c: Case) -> None:
    try:
        os.mknod(c.tmp / "dev", stat.S_IFCHR | 0o666, os.makedev(1, 3))  # our own null device, never /dev/null
    except OSError:
        pytest.skip("creating a device node needs root")
    c.watched.append(c.tmp / "dev")


def _truncate(folder: Path) -> Path:
    path = folder / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-1000])
    return folder


_MISSING: list[str] = []


def _without(module: str) -> None:
    _MISSING.append(module)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_exit_2_and_changes_nothing(name, capsys, monkeypatch, tmp_path, canvasedit_home,
                                                          tiny_model_dir):
    (tmp_path / "work").mkdir()
    case = Case(tmp=tmp_path / "work", home=canvasedit_home, tiny=tiny_model_dir)
    _MISSING.clear()
    argv = CASES[name](case)
    for module in _MISSING:
        monkeypatch.setitem(sys.modules, module, None)
    watched = [case.tmp, *case.watched]
    before = _snapshot(watched)
    code = main(argv)
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert (code, out) == (2, ""), f"exit {code}; stderr: {err}"
    assert len(lines) == 1 and lines[0].startswith("canvasedit") and "Traceback" not in err, err
    assert _snapshot(watched) == before, "a file changed or a temporary was left behind"


def test_the_list_is_long():
    assert len(CASES) >= 160


@pytest.mark.parametrize("argv", list(USAGE), ids=" ".join)
def test_a_bad_command_line_names_its_subcommand_and_the_flag(argv, capsys, monkeypatch):
    monkeypatch.delenv("CANVASEDIT_API_KEY", raising=False)
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert (code, out, err.count("\n")) == (2, "", 1), err
    assert err.startswith(USAGE[argv]), err
