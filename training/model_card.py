"""Write the bundled model's card (``README.md`` beside its weights) from the training state and ``eval.json``."""

from __future__ import annotations

import json
from pathlib import Path


def _table(masked: dict) -> str:
    rows = ["| domain, masking | model accuracy | most-frequent-token accuracy | model CE (nats/token) | unigram CE |",
            "|---|---|---|---|---|"]
    names = {"py": "Python", "en": "English"}
    for key, r in masked.items():
        dom, rate = key.split("_")
        rows.append(f"| {names[dom]}, {rate} % | **{100 * r['model_acc']:.1f} %** | {100 * r['most_frequent_acc']:.1f} % | "
                    f"**{r['model_ce']:.2f}** | {r['unigram_ce']:.2f} |")
    return "\n".join(rows)


def _example(i: int, e: dict) -> str:
    return (f"**Example {i}** — `{e['path']}`, {e['tokens']} tokens masked\n\n"
            f"Masked:\n```python\n{e['masked']}\n```\nCanvasEdit's fill:\n```python\n{e['filled']}\n```\n"
            f"Original:\n```python\n{e['original']}\n```\n")


def write_model_card(run: Path, out: Path, results: dict) -> None:
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    config = json.loads((out / "config.json").read_text())
    n_params = (config["embedding_size"] * config["d_model"] * 2
                + config["n_layers"] * (4 * config["d_model"] ** 2 + 3 * config["d_model"] * config["mlp_hidden_size"]
                                        + 2 * config["d_model"]) + config["d_model"])
    corpus = {}
    for name in ("py_train", "py_test", "en_train", "en_test"):
        lines = (run / "corpus" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        corpus[name] = (len(lines), sum(len(json.loads(x)["text"].encode()) for x in lines) / 1e6)
    li, si = results["line_infill"], results["short_infill"]
    curve = "\n".join(f"| {p['minute']} | {p['tokens'] / 1e6:.1f} | {p['py_test_ce50']:.2f} | {100 * p['py_test_acc50']:.1f} % | "
                      f"{p['en_test_ce50']:.2f} | {100 * p['en_test_acc50']:.1f} % |" for p in state["log"])
    examples = "\n".join(_example(i + 1, e) for i, e in enumerate(results["examples"]))
    short = "\n".join(_example(i + 1, e) for i, e in enumerate(results["short_examples"]))
    card = f"""# canvasedit-tiny

CanvasEdit's bundled default model: a **{n_params / 1e6:.1f}M-parameter masked-diffusion language model** with
the LLaDA architecture (bidirectional LLaMA-style blocks, SwiGLU, RoPE, untied head; {config['n_layers']} layers,
width {config['d_model']}, {config['n_heads']} heads), fp16 safetensors, a {config['vocab_size']}-token byte-level BPE tokenizer with
`<|endoftext|>` (0, end), `<|pad|>` (1, pad) and `<|mdm_mask|>` (2, mask). It loads through exactly the code
that loads LLaDA-8B checkpoints. It was trained on {state.get('hardware', 'a 2-core CPU')} in {state['elapsed'] / 60:.0f} minutes
({state['tokens'] / 1e6:.1f}M tokens) by `training/default_model.py`.

**What it is good for:** making CanvasEdit work offline on first run, on any machine. It has learned local
syntax — indentation, brackets, quotes, common identifiers and short idioms — and completes short holes
in Python sometimes exactly. It does **not** write correct multi-token code or prose; for real infilling,
use a large model (LLaDA-8B-Instruct) through `--model`.

## Training

- Objective: masked diffusion (MDLM / LLaDA): per sequence `t ~ U(0, 1]` (stratified over the batch), each
  token masked with probability `t`, cross-entropy on masked tokens weighted `1/t`. A quarter of the rows
  are shaped like editor holes (a span followed by 0–16 pad tokens, masked inside), so the model learns
  that a hole may end early; the engine trims the pads.
- Optimiser: AdamW (0.9, 0.98), weight decay 0.1, peak lr {state['preset']['lr']}, {state['preset']['warmup']}-step warm-up,
  cosine decay over the wall-clock budget, bf16 autocast, batch {state['preset']['batch']} × {state['preset']['seq_len']} tokens.
- Reproduce: `python training/default_model.py all --run runs/default --minutes 120`
  (corpus → tokenizer → training, resumable from checkpoints → export → this card).

## Data and licences

| split | source | documents | size |
|---|---|---|---|
| Python train | the Python {'.'.join(map(str, __import__('sys').version_info[:2]))} standard library's own source (PSF licence) | {corpus['py_train'][0]} | {corpus['py_train'][1]:.1f} MB |
| Python held out | whole packages `email`, `json`, `http`, `urllib`, `zoneinfo`, `tomllib` | {corpus['py_test'][0]} | {corpus['py_test'][1]:.1f} MB |
| English train | prose of the Rust project's books shipped with rustup (the Book, Reference, Cargo, rustc, rustdoc, Clippy, Rust by Example, Edition Guide, Embedded Book, Style Guide, Unstable Book; MIT / Apache-2.0), code blocks removed | {corpus['en_train'][0]} | {corpus['en_train'][1]:.1f} MB |
| English held out | the whole Rustonomicon | {corpus['en_test'][0]} | {corpus['en_test'][1]:.1f} MB |

The split is by file (by package or book), so no held-out file was seen in training.

## Measured on held-out files

Masked-token prediction (256 random 256-token windows per domain, fixed masks, one forward pass):

{_table(results['masked'])}

Infilling through CanvasEdit's engine (`canvasedit.engine.fill`, greedy, one token per step, hole length given):

| test | cases | exact match | token accuracy | character similarity |
|---|---|---|---|---|
| one whole line of a held-out function body | {li['cases']} | **{100 * li['exact_match']:.1f} %** | {100 * li['token_acc']:.1f} % | {li['char_similarity']:.2f} |
| a 1–4-token span inside such a line | {si['cases']} | **{100 * si['exact_match']:.1f} %** | {100 * si['token_acc']:.1f} % | {si['char_similarity']:.2f} |

Command: `python training/evaluate.py --run runs/default --model canvasedit/models/bundled/canvasedit-tiny`.

Training curve (fixed probe: 32 held-out windows per domain at 50 % masking):

| minute | tokens (M) | Python CE | Python acc | English CE | English acc |
|---|---|---|---|---|---|
{curve}

## GGUF (llama.cpp)

`canvasedit export-gguf OUT.gguf --model {out.name} --type f16` writes this model as one GGUF file
(llama.cpp's `llada` architecture) for CanvasEdit's CPU backend; `--type q8_0` or `q4_0` quantizes it.
The f16 export fills holes with exactly the tokens of the safetensors model (a test checks it).

## Five single-line infills from held-out functions (verbatim)

{examples}
## Short spans (verbatim)

{short}"""
    (out / "README.md").write_text(card, encoding="utf-8")
    print(f"model card written to {out / 'README.md'}", flush=True)
