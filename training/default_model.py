"""Train CanvasEdit's bundled default model end to end: corpus → tokenizer → training → export → evaluation (model card).

The model is the engine's own LLaDA architecture (``canvasedit.models.llada``), trained with the
masked-diffusion objective of MDLM / LLaDA on text that may be redistributed and that every
machine with this project's toolchain already has:

* Python: the running interpreter's standard library (PSF licence), held out by package.
* English: the Rust project's books shipped with rustup (MIT / Apache-2.0), held out by book.

Usage (each stage is resumable; ``all`` runs every stage that has no output yet)::

    python training/default_model.py all --run runs/default --minutes 120          # CPU, ~2 h
    python training/default_model.py all --run runs/gpu --preset gpu --minutes 10   # one H100-class GPU
    python training/default_model.py evaluate --run runs/default
    python training/default_model.py export --run runs/default --out canvasedit/models/bundled/canvasedit-tiny
    python training/default_model.py all --run /tmp/smoke --preset smoke --minutes 0.1 --max-docs 30 --eval-cases 4

Checkpoints are safetensors plus a JSON state file; nothing here pickles.
"""

from __future__ import annotations

import argparse
import hashlib
import html.parser
import json
import math
import os
import random
import re
import sys
import sysconfig
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from canvasedit.models.transformer import Transformer, TransformerArgs  # noqa: E402
from canvasedit.models.synthetic import SPECIAL_TOKENS, hub_state_dict  # noqa: E402

EOS_ID, PAD_ID, MASK_ID = 0, 1, 2
HELD_OUT_PY_PACKAGES = ("email", "json", "http", "urllib", "zoneinfo", "tomllib")
HELD_OUT_EN_BOOKS = ("nomicon",)
EN_BOOKS = (
    "book", "reference", "nomicon", "edition-guide", "cargo", "embedded-book", "rustc", "style-guide",
    "rust-by-example", "rustdoc", "clippy", "unstable-book",
)


@dataclass
class Preset:
    d_model: int
    n_layers: int
    n_heads: int
    mlp_hidden: int
    vocab: int
    seq_len: int
    batch: int
    lr: float
    warmup: int
    threads: int
    py_share: float = 0.75
    infill_share: float = 0.25
    """Share of rows trained as editor holes: a span followed by pad tokens, so the model learns to end a hole early."""


PRESETS = {
    # ~6.9M parameters: trains at ~3k tokens/s on 2 CPU cores with bf16 autocast.
    "cpu": Preset(d_model=256, n_layers=6, n_heads=8, mlp_hidden=704, vocab=4096, seq_len=512, batch=8,
                  lr=2e-3, warmup=200, threads=2),
    # ~27M parameters for one H100-class GPU in about 10 minutes.
    "gpu": Preset(d_model=512, n_layers=8, n_heads=8, mlp_hidden=1408, vocab=4096, seq_len=512, batch=128,
                  lr=1.5e-3, warmup=300, threads=8),
    # A few seconds on one core: the pipeline's own test runs every stage with it (with --max-docs).
    "smoke": Preset(d_model=64, n_layers=2, n_heads=4, mlp_hidden=128, vocab=512, seq_len=128, batch=4,
                    lr=2e-3, warmup=10, threads=1),
}


# ---------------------------------------------------------------- corpus


class _ProseExtractor(html.parser.HTMLParser):
    """Text of an mdBook page's <main>, without code blocks, navigation or scripts."""

    SKIP = {"pre", "script", "style", "nav", "button"}

    def __init__(self) -> None:
        super().__init__()
        self.in_main = 0
        self.skip = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "main":
            self.in_main += 1
        elif tag in self.SKIP:
            self.skip += 1
        elif tag in {"p", "li", "h1", "h2", "h3", "h4", "br", "tr", "blockquote"} and self.in_main:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "main":
            self.in_main -= 1
        elif tag in self.SKIP and self.skip:
            self.skip -= 1
        elif tag in {"p", "li", "h1", "h2", "h3", "h4", "blockquote"} and self.in_main:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.in_main and not self.skip:
            self.parts.append(data)

    def text(self) -> str:
        raw = "".join(self.parts)
        paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n|\n", raw)]
        return "\n\n".join(p for p in paragraphs if len(p) > 1) + "\n"


def _python_files() -> list[Path]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    out = []
    for path in sorted(stdlib.rglob("*.py")):
        rel = path.relative_to(stdlib).parts
        if rel[0] in {"site-packages", "dist-packages"} or "lib2to3" in rel or rel[0].startswith("config-"):
            continue
        out.append(path)
    return out


def _keep_python(text: str) -> bool:
    if not text.strip() or len(text) > 150_000:
        return False
    lines = text.splitlines()
    if max((len(line) for line in lines), default=0) > 400:
        return False
    digits = sum(c.isdigit() for c in text)
    return digits / max(len(text), 1) < 0.25


def _rust_doc_root() -> Path | None:
    base = Path.home() / ".rustup" / "toolchains"
    for toolchain in sorted(base.glob("stable-*")) + sorted(base.glob("*")):
        html_dir = toolchain / "share" / "doc" / "rust" / "html"
        if (html_dir / "book").is_dir():
            return html_dir
    return None


def build_corpus(run: Path, max_docs: int | None = None) -> None:
    """Write the four splits as JSONL; ``max_docs`` keeps an evenly spaced sample of each (for quick runs)."""
    out = run / "corpus"
    if (out / "done").exists():
        return
    out.mkdir(parents=True, exist_ok=True)
    splits: dict[str, list[dict[str, str]]] = {"py_train": [], "py_test": [], "en_train": [], "en_test": []}
    seen: set[str] = set()
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path in _python_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        digest = hashlib.sha1(text.encode()).hexdigest()
        if digest in seen or not _keep_python(text):
            continue
        seen.add(digest)
        rel = path.relative_to(stdlib)
        split = "py_test" if rel.parts[0] in HELD_OUT_PY_PACKAGES else "py_train"
        splits[split].append({"path": f"stdlib/{rel}", "text": text})
    docs = _rust_doc_root()
    if docs is not None:
        for book in EN_BOOKS:
            for page in sorted((docs / book).rglob("*.html")):
                if page.name in {"print.html", "toc.html", "404.html", "index.html"}:
                    continue
                parser = _ProseExtractor()
                parser.feed(page.read_text(encoding="utf-8", errors="replace"))
                text = parser.text()
                if len(text) < 400:
                    continue
                digest = hashlib.sha1(text.encode()).hexdigest()
                if digest in seen:
                    continue
                seen.add(digest)
                split = "en_test" if book in HELD_OUT_EN_BOOKS else "en_train"
                splits[split].append({"path": f"rust-docs/{page.relative_to(docs)}", "text": text})
    for name, items in splits.items():
        if max_docs is not None and len(items) > max_docs:
            step = len(items) / max_docs
            items = splits[name] = [items[int(i * step)] for i in range(max_docs)]
        with open(out / f"{name}.jsonl", "w", encoding="utf-8") as fh:
            for item in items:
                fh.write(json.dumps(item) + "\n")
        size = sum(len(i["text"].encode()) for i in items)
        print(f"corpus {name}: {len(items)} docs, {size / 1e6:.1f} MB", flush=True)
    (out / "done").write_text("ok\n")


def _read_split(run: Path, name: str) -> list[dict[str, str]]:
    with open(run / "corpus" / f"{name}.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


# ---------------------------------------------------------------- tokenizer


def train_tokenizer(run: Path, vocab: int) -> None:
    path = run / "tokenizer" / "tokenizer.json"
    if path.exists():
        return
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    rng = random.Random(0)
    texts = [d["text"] for d in _read_split(run, "py_train")] + [d["text"] for d in _read_split(run, "en_train")]
    rng.shuffle(texts)
    tok.train_from_iterator(texts, trainer)
    assert [tok.token_to_id(t) for t in SPECIAL_TOKENS] == [EOS_ID, PAD_ID, MASK_ID]
    path.parent.mkdir(parents=True, exist_ok=True)
    tok.save(str(path))
    print(f"tokenizer: {tok.get_vocab_size()} tokens", flush=True)


def _tokenizer(run: Path):
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(run / "tokenizer" / "tokenizer.json"))


def tokenize_corpus(run: Path) -> None:
    out = run / "tokens"
    if (out / "done").exists():
        return
    out.mkdir(parents=True, exist_ok=True)
    tok = _tokenizer(run)
    for name in ("py_train", "py_test", "en_train", "en_test"):
        docs = _read_split(run, name)
        ids: list[int] = []
        for enc in tok.encode_batch([d["text"] for d in docs], add_special_tokens=False):
            ids.extend(enc.ids)
            ids.append(EOS_ID)
        np.asarray(ids, dtype=np.uint16).tofile(out / f"{name}.bin")
        nbytes = sum(len(d["text"].encode()) for d in docs)
        print(f"tokens {name}: {len(ids) / 1e6:.2f} M ({nbytes / max(len(ids), 1):.2f} bytes/token)", flush=True)
    (out / "done").write_text("ok\n")


def _tokens(run: Path, name: str) -> np.ndarray:
    return np.fromfile(run / "tokens" / f"{name}.bin", dtype=np.uint16)


# ---------------------------------------------------------------- model and objective


def model_args(preset: Preset) -> TransformerArgs:
    return TransformerArgs(
        width=preset.d_model, n_layers=preset.n_layers, n_heads=preset.n_heads, n_kv_heads=preset.n_heads,
        head_dim=preset.d_model // preset.n_heads, mlp_hidden=preset.mlp_hidden, vocab_size=preset.vocab,
        rows=preset.vocab, max_length=preset.seq_len, rope_theta=10000.0, norm_eps=1e-5, tie_word_embeddings=False,
    )


def init_weights(model: Transformer) -> None:
    std = 0.02
    for name, p in model.named_parameters():
        if p.dim() == 2:
            # Residual outputs scaled down with depth (GPT-2 / OLMo "mitchell"-like init).
            scale = 1 / math.sqrt(2 * model.args.n_layers) if name.endswith(("o_proj.weight", "down_proj.weight")) else 1
            torch.nn.init.normal_(p, 0.0, std * scale)


def sample_batch(
    data: list[np.ndarray], shares: list[float], preset: Preset, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Windows plus their diffusion corruption: returns ``(noisy ids, targets, weights)``, each ``(B, T)``.

    MDLM / LLaDA objective: per row ``t ~ U(0, 1]`` (stratified over the batch), each token masked
    with probability ``t``, cross-entropy on masked tokens weighted ``1 / t``. A share of rows is
    shaped like an editor hole instead: ``prefix + span + pads + suffix`` with masks only inside
    the span and its pads, so the model learns that a hole may end early (the engine trims pads).
    """
    B, T = preset.batch, preset.seq_len
    rows = np.empty((B, T), dtype=np.int64)
    for b in range(B):
        src = data[rng.choice(len(data), p=shares)]
        start = rng.integers(0, len(src) - T - 1)
        rows[b] = src[start : start + T]
    ids = torch.from_numpy(rows)
    t = (torch.arange(B, dtype=torch.float32) + torch.from_numpy(rng.random(B)).float()) / B  # stratified
    t = t.clamp_min(1e-3)
    masked = torch.from_numpy(rng.random((B, T))).float() < t[:, None]
    hole_rows = torch.from_numpy(rng.random(B) < preset.infill_share)
    for b in torch.nonzero(hole_rows).flatten().tolist():
        span = int(rng.integers(1, 49))
        pads = int(rng.integers(0, 17))
        a = int(rng.integers(16, T - span - pads - 16))
        row = ids[b].clone()
        shifted = torch.cat([row[:a + span], torch.full((pads,), PAD_ID), row[a + span :]])[:T]
        ids[b] = shifted
        masked[b] = False
        masked[b, a : a + span + pads] = torch.from_numpy(rng.random(span + pads) < float(t[b]) * 0.5 + 0.5)
        t[b] = float(t[b]) * 0.5 + 0.5
        if not masked[b].any():
            masked[b, a] = True
    noisy = ids.masked_fill(masked, MASK_ID)
    weights = masked.float() / t[:, None]
    return noisy, ids, weights


def diffusion_loss(model: Transformer, noisy: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    h = model.hidden(noisy)  # (B, T, C)
    sel = weights > 0
    logits = model.lm_head(h[sel]).float()  # (N, V): the head only where tokens are masked
    logits[:, MASK_ID] = -1e4  # the mask token is never a prediction
    ce = F.cross_entropy(logits, targets[sel], reduction="none")
    return (ce * weights[sel]).sum() / noisy.numel()


# ---------------------------------------------------------------- checkpoints (safetensors + JSON)


def save_checkpoint(run: Path, model: Transformer, opt: torch.optim.Optimizer, state: dict) -> None:
    from safetensors.torch import save_file

    ckpt = run / "checkpoint"
    ckpt.mkdir(exist_ok=True)
    tensors = {f"model.{k}": v.detach().contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight" or not model.args.tie_word_embeddings}
    names = {id(p): n for n, p in model.named_parameters()}
    for p, s in opt.state.items():
        for key in ("exp_avg", "exp_avg_sq"):
            tensors[f"opt.{names[id(p)]}.{key}"] = s[key].contiguous()
        state.setdefault("opt_steps", {})[names[id(p)]] = float(s["step"])
    tmp = ckpt / "weights.safetensors.tmp"
    save_file(tensors, str(tmp))
    os.replace(tmp, ckpt / "weights.safetensors")
    (ckpt / "state.json.tmp").write_text(json.dumps(state))
    os.replace(ckpt / "state.json.tmp", ckpt / "state.json")


def load_checkpoint(run: Path, model: Transformer, opt: torch.optim.Optimizer) -> dict | None:
    from safetensors.torch import load_file

    ckpt = run / "checkpoint"
    if not (ckpt / "state.json").exists():
        return None
    tensors = load_file(str(ckpt / "weights.safetensors"))
    state = json.loads((ckpt / "state.json").read_text())
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, strict=False)
    for name, p in model.named_parameters():
        if f"opt.{name}.exp_avg" in tensors:
            opt.state[p] = {
                "step": torch.tensor(state["opt_steps"][name]),
                "exp_avg": tensors[f"opt.{name}.exp_avg"],
                "exp_avg_sq": tensors[f"opt.{name}.exp_avg_sq"],
            }
    return state


# ---------------------------------------------------------------- training


def train(run: Path, preset: Preset, minutes: float, device: str) -> None:
    state_path = run / "checkpoint" / "state.json"
    if state_path.exists():
        done = json.loads(state_path.read_text())
        if done.get("finished") and done["elapsed"] >= minutes * 60:
            return  # a finished run given more minutes goes on from its checkpoint
    torch.manual_seed(0)
    torch.set_num_threads(preset.threads)
    args = model_args(preset)
    model = Transformer(args)
    init_weights(model)
    model.to(device)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=preset.lr, betas=(0.9, 0.98), eps=1e-8, fused=device.startswith("cuda"),
    )
    state = load_checkpoint(run, model, opt) or {"step": 0, "elapsed": 0.0, "tokens": 0, "log": []}
    state["preset"] = asdict(preset)
    state["hardware"] = (f"one {torch.cuda.get_device_name(device)} GPU" if device.startswith("cuda")
                         else f"a {preset.threads}-thread CPU")
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params / 1e6:.2f}M parameters, preset {asdict(preset)}", flush=True)
    # A source shorter than one window (no Rust books on this machine, say) drops out; the other takes its share.
    candidates = ((_tokens(run, "py_train"), preset.py_share), (_tokens(run, "en_train"), 1 - preset.py_share))
    sources = [(d, share) for d, share in candidates if len(d) > preset.seq_len + 1]
    if not sources:
        raise SystemExit(f"the corpus in {run} has no split longer than {preset.seq_len} tokens")
    train_data = [d for d, _ in sources]
    shares = [share / sum(s for _, s in sources) for _, share in sources]
    probe = _probe_batches(run, preset)
    rng = np.random.default_rng(1000 + state["step"])
    budget = minutes * 60.0
    start = time.time() - state["elapsed"]
    last_ckpt = last_eval = time.time()
    autocast = torch.autocast(device_type="cuda" if device.startswith("cuda") else "cpu", dtype=torch.bfloat16)
    while True:
        elapsed = time.time() - start
        if elapsed >= budget:
            break
        frac = elapsed / budget
        lr = preset.lr * min(1.0, (state["step"] + 1) / preset.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for group in opt.param_groups:
            group["lr"] = lr
        noisy, targets, weights = sample_batch(train_data, shares, preset, rng)
        noisy, targets, weights = noisy.to(device), targets.to(device), weights.to(device)
        with autocast:
            loss = diffusion_loss(model, noisy, targets, weights)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        state["step"] += 1
        state["tokens"] += noisy.numel()
        if state["step"] % 50 == 0:
            tps = state["tokens"] / max(time.time() - start, 1e-9)
            print(f"step {state['step']} min {elapsed / 60:.1f} loss {loss.item():.3f} lr {lr:.2e} tok/s {tps:.0f}", flush=True)
        if time.time() - last_eval > 300:
            state["log"].append({"minute": round(elapsed / 60, 1), "tokens": state["tokens"], **_probe(model, probe, device)})
            print("probe", state["log"][-1], flush=True)
            last_eval = time.time()
        if time.time() - last_ckpt > 120:
            state["elapsed"] = time.time() - start
            save_checkpoint(run, model, opt, state)
            last_ckpt = time.time()
    state["elapsed"] = time.time() - start
    state["log"].append({"minute": round(state["elapsed"] / 60, 1), "tokens": state["tokens"], **_probe(model, probe, device)})
    state["finished"] = True
    state["preset"] = asdict(preset)
    save_checkpoint(run, model, opt, state)
    print("finished", state["log"][-1], flush=True)


def _probe_batches(run: Path, preset: Preset) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    out = {}
    length = min(256, preset.seq_len)
    for name in ("py_test", "en_test"):
        data = _tokens(run, name)
        if len(data) < length + 2:
            continue
        rng = np.random.default_rng(7)
        starts = rng.integers(0, len(data) - length - 1, size=32)
        ids = torch.from_numpy(np.stack([data[s : s + length] for s in starts]).astype(np.int64))
        masked = torch.from_numpy(rng.random(ids.shape) < 0.5)
        out[name] = (ids, masked)
    return out


@torch.no_grad()
def _probe(model: Transformer, probe: dict, device: str) -> dict[str, float]:
    model.eval()
    result = {}
    for name, (ids, masked) in probe.items():
        logits = model(ids.masked_fill(masked, MASK_ID).to(device)).float().cpu()
        logits[..., MASK_ID] = -1e4
        ce = F.cross_entropy(logits[masked], ids[masked]).item()
        acc = (logits[masked].argmax(-1) == ids[masked]).float().mean().item()
        result[f"{name}_ce50"] = round(ce, 3)
        result[f"{name}_acc50"] = round(acc, 4)
    model.train()
    return result


def load_trained(run: Path) -> Transformer:
    from safetensors.torch import load_file

    state = json.loads((run / "checkpoint" / "state.json").read_text())
    preset = Preset(**state.get("preset", asdict(PRESETS["cpu"])))
    model = Transformer(model_args(preset))
    tensors = load_file(str(run / "checkpoint" / "weights.safetensors"))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, strict=True)
    return model.eval()


# ---------------------------------------------------------------- export


def export(run: Path, out: Path) -> None:
    """Write the Hugging Face layout the loader reads for every LLaDA checkpoint."""
    from safetensors.torch import save_file
    from transformers import PreTrainedTokenizerFast

    model = load_trained(run)
    args = model.args
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    out.mkdir(parents=True, exist_ok=True)
    config = {
        "architectures": ["LLaDAModelLM"], "model_type": "llada", "block_type": "llama",
        "d_model": args.width, "n_layers": args.n_layers, "n_heads": args.n_heads, "n_kv_heads": args.n_kv_heads,
        "mlp_hidden_size": args.mlp_hidden, "vocab_size": args.vocab_size, "embedding_size": args.rows,
        "max_sequence_length": args.max_length, "rope_theta": args.rope_theta,
        "rms_norm_eps": args.norm_eps, "weight_tying": args.tie_word_embeddings, "include_bias": False,
        "include_qkv_bias": False, "layer_norm_type": "rms", "activation_type": "silu", "rope": True, "alibi": False,
        "mask_token_id": MASK_ID, "eos_token_id": EOS_ID, "pad_token_id": PAD_ID, "torch_dtype": "float16",
        "canvasedit": {"trained_tokens": state["tokens"], "trained_minutes": round(state["elapsed"] / 60, 1),
                       "preset": state.get("preset", asdict(PRESETS["cpu"]))},
    }
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    tensors = {name: t.to(torch.float16) for name, t in hub_state_dict(model).items()}
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    fast = PreTrainedTokenizerFast(
        tokenizer_file=str(run / "tokenizer" / "tokenizer.json"),
        eos_token=SPECIAL_TOKENS[EOS_ID], pad_token=SPECIAL_TOKENS[PAD_ID], mask_token=SPECIAL_TOKENS[MASK_ID],
        clean_up_tokenization_spaces=False,
    )
    fast.save_pretrained(str(out))
    print(f"exported to {out}", flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=["corpus", "tokenizer", "train", "export", "evaluate", "all"])
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "default")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    parser.add_argument("--minutes", type=float, default=120.0)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: the preset's)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--max-docs", type=int, default=None, help="at most N documents per split (quick runs)")
    parser.add_argument("--eval-cases", type=int, default=200, help="infill cases per kind in the evaluation")
    parser.add_argument("--out", type=Path, default=None,
                        help="model folder to export to (default: RUN/model; the bundled model is replaced only "
                             "when its folder is given explicitly)")
    a = parser.parse_args(argv)
    a.out = a.out or a.run / "model"
    return a


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    preset = PRESETS[a.preset]
    if a.threads:
        preset = replace(preset, threads=a.threads)
    a.run.mkdir(parents=True, exist_ok=True)
    if a.stage in ("corpus", "all"):
        build_corpus(a.run, a.max_docs)
    if a.stage in ("tokenizer", "all"):
        train_tokenizer(a.run, preset.vocab)
        tokenize_corpus(a.run)
    if a.stage in ("train", "all"):
        train(a.run, preset, a.minutes, a.device)
    if a.stage in ("export", "all"):
        export(a.run, a.out)
    if a.stage in ("evaluate", "all"):
        from training.evaluate import evaluate
        from training.model_card import write_model_card

        write_model_card(a.run, a.out, evaluate(a.run, a.out, a.eval_cases))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
