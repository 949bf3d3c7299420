"""The built-in catalog rows: the diffusion LMs people run, with what was checked about each.

Each row is a ``CatalogEntry`` (``canvasedit.models.catalog``). ``verified`` says, in words, what
was read from the real hub pages (tree listings, commit pages, model cards) and what was not;
numbers marked "~" come from a model card or from parameters × bytes, not from the hub's file list.
A revision is a full commit hash only where one was read from the hub; everywhere else it is
"main" (unpinned), so a pull follows the repository's main branch.

Recipes are ``canvasedit.params`` layers over the family's recipe (``registry``): a row carries only
what differs from its family's reference sampler, and says where the values come from; ``{}``
means the family's recipe as it is.
"""

from __future__ import annotations

from canvasedit.models.catalog import CatalogEntry, GGUFQuant

GB = 1_000_000_000

_LLADA_FILES = (
    "config.json", "generation_config.json", "model.safetensors.index.json",
    *(f"model-{i:05d}-of-00006.safetensors" for i in range(1, 7)),
    "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json",
)
_DREAM_RECIPE = {"temperature": 0.2, "top_p": 0.95}
"""Dream's README ``diffusion_generate`` example samples at temperature 0.2 with top_p 0.95 (the
family's recipe already has its timestep schedule and entropy order)."""

ENTRIES: tuple[CatalogEntry, ...] = (
    # ------------------------------------------------------------------ Qwen-weight A2D conversions (small)
    CatalogEntry(
        name="qwen3-0.6b-mdlm", family="a2d", repo="dllm-hub/Qwen3-0.6B-diffusion-mdlm-v0.1",
        params=750_000_000, context=1024, hidden=1024, vocab=151936, licence="unverified (Qwen3 is Apache-2.0)",
        uses=("prose", "chat", "instruct"), sees_suffix=True,
        description="Qwen3-0.6B run bidirectionally (MDLM SFT by dLLM); small enough for any laptop CPU.",
        recipe={"block_length": 64},
        download_bytes=int(1.5 * GB),
        verified="model card read (sampler: block_size 64, greedy); file list, sizes, licence and revision not read; "
                 "params from the hub's '0.8B' label (a separate lm_head is stored); ~size from params x bf16",
    ),
    CatalogEntry(
        name="qwen3-0.6b-bd3lm", family="a2d-bd3lm", repo="dllm-hub/Qwen3-0.6B-diffusion-bd3lm-v0.1",
        params=750_000_000, context=512, hidden=1024, vocab=151936, licence="unverified (Qwen3 is Apache-2.0)",
        uses=("prose", "chat", "instruct"), sees_suffix=False,
        description="Qwen3-0.6B trained as block diffusion (BD3LM): blocks of 32 filled left to right, no suffix.",
        recipe={"block_length": 32},
        download_bytes=int(1.5 * GB),
        verified="dLLM README numbers only (block_size 32, max_length 512); hub files and revision not read",
    ),
    CatalogEntry(
        name="qwen2.5-coder-0.5b-mdlm", family="a2d", repo="dllm-hub/Qwen2.5-Coder-0.5B-Instruct-diffusion-mdlm-v0.1",
        params=630_000_000, context=32768, hidden=896, vocab=151936, licence="unverified (Qwen2.5-Coder is Apache-2.0)",
        uses=("code infill", "instruct"), sees_suffix=True,
        description="Qwen2.5-Coder-0.5B-Instruct as a masked diffusion model: the small code-infill choice.",
        recipe={},
        download_bytes=1_260_000_000,
        verified="hub tree page read: config.json 1.45 kB, added_tokens.json, chat_template.jinja, "
                 "model.safetensors 1.26 GB; revision not read (unpinned); context is Qwen2.5's, not checked for this SFT",
    ),
    CatalogEntry(
        name="qwen2.5-coder-0.5b-bd3lm", family="a2d-bd3lm", repo="dllm-hub/Qwen2.5-Coder-0.5B-Instruct-diffusion-bd3lm-v0.1",
        params=630_000_000, context=32768, hidden=896, vocab=151936, licence="unverified",
        uses=("code", "instruct"), sees_suffix=False,
        description="Qwen2.5-Coder-0.5B trained as block diffusion (BD3LM): blocks of 32 filled left to right, no suffix.",
        recipe={"block_length": 32},
        download_bytes=1_260_000_000,
        verified="dLLM README numbers only; hub files and revision not read; size assumed equal to the MDLM sibling",
    ),
    CatalogEntry(
        name="open-dcoder-0.5b", family="open-dcoder", repo="fredzzp/open-dcoder-0.5B",
        params=494_000_000, context=4096, hidden=896, vocab=151936, licence="unverified",
        uses=("code infill",), sees_suffix=True,
        description="Open-dCoder: Qwen2.5-Coder-0.5B pretrained further as a masked diffusion coder (shifted logits).",
        recipe={},
        download_bytes=int(1.0 * GB),
        verified="Open-dLLM training and sampler code read (mask '<M>', shifted logits, max_seq_len 4096); "
                 "hub files, sizes, licence and revision not read",
    ),
    # ------------------------------------------------------------------ block diffusion
    CatalogEntry(
        name="sdar-1.7b-chat", family="sdar", repo="JetLM/SDAR-1.7B-Chat",
        params=2_030_000_000, context=32768, hidden=2048, vocab=151936, licence="apache-2.0",
        uses=("chat", "instruct"), sees_suffix=False,
        description="SDAR 1.7B chat: block diffusion in blocks of 4 with an exact KV cache; fast, no suffix.",
        recipe={},
        files=("added_tokens.json", "chat_template.jinja", "config.json", "generation_config.json", "merges.txt",
               "model.safetensors", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.json"),
        download_bytes=4_080_000_000,
        verified="hub tree page read (file names; model.safetensors 4.06 GB); licence from the b32 sibling's page; "
                 "recipe: the family's (SDAR generate.py, threshold 0.85); revision not read (unpinned)",
    ),
    CatalogEntry(
        name="fast-dllm-v2-1.5b", family="fast-dllm", repo="Efficient-Large-Model/Fast_dLLM_v2_1.5B",
        params=1_540_000_000, context=32768, hidden=1536, vocab=151936, licence="apache-2.0",
        uses=("chat", "instruct"), sees_suffix=False,
        description="Fast-dLLM v2 1.5B (from Qwen2.5-1.5B-Instruct): blocks of 32, parallel decoding at 0.9.",
        recipe={},
        download_bytes=int(3.1 * GB),
        verified="config values from third-party notes (bd_size 32, tied, 1.54B BF16) and the 7B sibling's config page; "
                 "recipe: the family's (batch_sample, threshold 0.9); hub files and revision not read",
    ),
    # ------------------------------------------------------------------ encoder
    CatalogEntry(
        name="modernbert-large-chat", family="modernbert", repo="dllm-hub/ModernBERT-large-chat-v0.1",
        params=395_000_000, context=8192, hidden=1024, vocab=50368, licence="unverified (ModernBERT is Apache-2.0)",
        uses=("chat", "prose"), sees_suffix=True,
        description="ModernBERT-large tuned to chat by dLLM: an encoder with an MLM head, sees both sides of a hole.",
        recipe={},
        download_bytes=int(0.8 * GB),
        verified="dLLM README read (trained at 1024 tokens; repository seen as dllm-collection/...-chat-v0); "
                 "the dllm-hub name, files, sizes and revision not read",
    ),
    CatalogEntry(
        name="modernbert-base-chat", family="modernbert", repo="dllm-hub/ModernBERT-base-chat-v0.1",
        params=149_000_000, context=8192, hidden=768, vocab=50368, licence="unverified (ModernBERT is Apache-2.0)",
        uses=("chat", "prose"), sees_suffix=True,
        description="ModernBERT-base chat (dLLM): the smallest chat model here.",
        recipe={},
        download_bytes=int(0.3 * GB),
        verified="as modernbert-large-chat: README only; hub files and revision not read",
    ),
    # ------------------------------------------------------------------ LLaDA 8B
    CatalogEntry(
        name="llada-8b-instruct", family="llada", repo="GSAI-ML/LLaDA-8B-Instruct",
        revision="6059b30c9531767ce47e0ca6a8161a6bb0c67693",
        params=8_020_000_000, context=4096, hidden=4096, vocab=126464, licence="mit",
        uses=("prose", "chat", "instruct", "code infill"), sees_suffix=True,
        description="LLaDA 8B Instruct: the reference masked diffusion LM, bidirectional; needs a GPU or ~35 GB RAM.",
        recipe={}, files=_LLADA_FILES, download_bytes=16_030_000_000,
        verified="hub tree and commit pages read: file names and shard sizes (2.11/2.95/2.99/2.95/2.92/2.11 GB), "
                 "licence mit, 8.02B params, BF16; pinned to the weights commit 6059b30c (later commits change only "
                 "README.md); per-file sha256 not read here (checked against the hub's API at pull time)",
    ),
    CatalogEntry(
        name="llada-8b-base", family="llada", repo="GSAI-ML/LLaDA-8B-Base",
        params=8_020_000_000, context=4096, hidden=4096, vocab=126464, licence="mit",
        uses=("prose", "code infill"), sees_suffix=True,
        description="LLaDA 8B Base: the pretrained model, for plain text and code continuation.",
        recipe={}, files=_LLADA_FILES, download_bytes=16_030_000_000,
        verified="hub tree page read (same file names and shard sizes as Instruct, licence mit); "
                 "full commit hash not read (unpinned)",
    ),
    CatalogEntry(
        name="llada-1.5", family="llada", repo="GSAI-ML/LLaDA-1.5",
        params=8_020_000_000, context=4096, hidden=4096, vocab=126464, licence="unverified",
        uses=("prose", "chat", "instruct"), sees_suffix=True,
        description="LLaDA 1.5: LLaDA 8B Instruct after preference optimisation (VRPO).",
        recipe={}, files=_LLADA_FILES, download_bytes=16_030_000_000,
        verified="hub tree page read (6 shards: 2.98/2.99/2.95/2.92/2.95/1.24 GB); licence and full commit not read",
    ),
    CatalogEntry(
        name="llada-moe-7b-instruct", family="llada-moe", repo="inclusionAI/LLaDA-MoE-7B-A1B-Instruct",
        params=7_300_000_000, context=8192, hidden=2048, vocab=157184, licence="unverified",
        uses=("chat", "instruct"), sees_suffix=True,
        description="LLaDA-MoE 7B with ~1B active parameters per token: 7B of memory, much less compute.",
        recipe={},
        download_bytes=int(14.7 * GB),
        verified="config and tensor layout from a port guide that quotes the hub's config.json and modeling "
                 "code (~14.7 GB BF16, 3 shards), cross-checked against llama.cpp's converter (architectures, "
                 "mask 156895, non-causal, no shift, expert_intermediate_size) and two inference engines' "
                 "ports (softmax top-8 of 64 experts, norm_topk_prob false, no shared expert); hub files, "
                 "licence and revision not read",
    ),
    # ------------------------------------------------------------------ Dream 7B family
    CatalogEntry(
        name="dream-7b-instruct", family="dream", repo="Dream-org/Dream-v0-Instruct-7B",
        params=7_620_000_000, context=2048, hidden=3584, vocab=152064, licence="unverified",
        uses=("prose", "chat", "instruct"), sees_suffix=True,
        description="Dream 7B Instruct: Qwen2.5-7B turned masked diffusion (shifted logits).",
        recipe=_DREAM_RECIPE, download_bytes=int(15.2 * GB),
        verified="model page read (7.62B params, BF16); config taken from DiffuCoder's; files and revision not read",
    ),
    CatalogEntry(
        name="dream-7b-base", family="dream", repo="Dream-org/Dream-v0-Base-7B",
        params=7_620_000_000, context=2048, hidden=3584, vocab=152064, licence="unverified",
        uses=("prose", "code infill"), sees_suffix=True,
        description="Dream 7B Base: the pretrained Dream model.",
        recipe=_DREAM_RECIPE, download_bytes=int(15.2 * GB),
        verified="not read on the hub (repository name from the Dream README)",
    ),
    CatalogEntry(
        name="dream-coder-7b", family="dream", repo="Dream-org/Dream-Coder-v0-Instruct-7B",
        params=7_620_000_000, context=2048, hidden=3584, vocab=152064, licence="unverified",
        uses=("code infill", "instruct"), sees_suffix=True,
        description="Dream-Coder 7B Instruct: a Dream model trained for code.",
        recipe={**_DREAM_RECIPE, "temperature": 0.1}, download_bytes=int(15.2 * GB),
        verified="configuration_dream.py blame page read (model_type 'Dream'); token ids from a third-party registry; "
                 "files and revision not read; temperature 0.1 unverified",
    ),
    CatalogEntry(
        name="diffucoder-7b-instruct", family="dream", repo="apple/DiffuCoder-7B-Instruct",
        params=7_620_000_000, context=2048, hidden=3584, vocab=152064, licence="apple-amlr",
        uses=("code infill", "instruct"), sees_suffix=True,
        description="DiffuCoder 7B Instruct (Apple): a Dream-architecture coder.",
        recipe={**_DREAM_RECIPE, "temperature": 0.3}, download_bytes=int(15.2 * GB),
        verified="config.json page and tree page read (added_tokens.json 681 B, chat_template.jinja 2.43 kB); "
                 "licence from the model page; revision not read; temperature 0.3 unverified",
    ),
    CatalogEntry(
        name="dreamon-7b", family="dream", repo="Dream-org/DreamOn-v0-7B",
        params=7_620_000_000, context=2048, hidden=3584, vocab=152064, licence="unverified",
        uses=("code infill",), sees_suffix=True,
        description="DreamOn 7B: Dream for infilling with holes that grow and shrink (<|expand|> / delete).",
        recipe={"temperature": 0.2, "top_p": 0.9}, download_bytes=int(15.2 * GB),
        verified="README and sampler code read (temperature 0.2, top_p 0.9, entropy); hub files and revision not read",
    ),
    # ------------------------------------------------------------------ GGUF repositories
    CatalogEntry(
        name="llada-8b-instruct-gguf", family="llada", repo="diffuse-cpp/LLaDA-8B-Instruct-GGUF",
        params=8_020_000_000, context=4096, hidden=4096, vocab=126464, licence="apache-2.0 (card); base model mit",
        uses=("prose", "chat", "instruct"), sees_suffix=True, kind="gguf",
        description="LLaDA 8B Instruct as GGUF for the llama.cpp backend (CPU); Q4_K_M fits in ~6 GB of RAM.",
        recipe={},
        quants=(
            GGUFQuant("Q4_K_M", "llada-8b-q4km.gguf", int(5.1 * GB)),
            GGUFQuant("Q8_0", "llada-8b-q8_0.gguf", int(8.4 * GB)),
            GGUFQuant("F16", "llada-8b-f16.gguf", int(14.9 * GB)),
        ),
        verified="file names and ~sizes from the repository's README (made for diffuse-cpp); whether llama.cpp "
                 "reads these files as its 'llada' architecture was not checked; revision not read",
    ),
    CatalogEntry(
        name="dream-7b-instruct-gguf", family="dream", repo="diffuse-cpp/Dream-v0-Instruct-7B-GGUF",
        params=7_620_000_000, context=2048, hidden=3584, vocab=152064, licence="apache-2.0 (card)",
        uses=("prose", "chat", "instruct"), sees_suffix=True, kind="gguf",
        description="Dream 7B Instruct as GGUF (CPU).",
        recipe=_DREAM_RECIPE,
        quants=(
            GGUFQuant("Q4_K_M", "dream-7b-q4km.gguf", int(5.0 * GB)),
            GGUFQuant("Q8_0", "dream-7b-q8_0.gguf", int(8.2 * GB)),
            GGUFQuant("F16", "dream-7b-f16.gguf", int(15 * GB)),
        ),
        verified="file names and ~sizes from the repository's README (made for diffuse-cpp); llama.cpp "
                 "compatibility and revision not checked",
    ),
)
