"""Dream, the A2D conversions and Open-dCoder: real-layout tiny checkpoints against transformers' own
Qwen2 / Qwen3 classes run with a full (non-causal) mask, and what each spec reads from them."""

import json
import shutil

import pytest
import torch

from canvasedit.engine.backends.native import NativeBackend
from canvasedit.models.errors import BadModelConfig, UnsupportedArchitecture
from canvasedit.models.loading import load_model
from canvasedit.models.registry import resolve
from tests.families import make_a2d, make_dream, make_open_dcoder


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("qwen-families")
    return {
        "dream": make_dream(root / "dream"),
        "dream-coder": make_dream(root / "dream-coder", "coder"),
        "diffucoder": make_dream(root / "diffucoder", "diffucoder"),
        "a2d-qwen3": make_a2d(root / "a2d-qwen3"),
        "a2d-qwen2": make_a2d(root / "a2d-qwen2", qwen3=False, tied=False),
        "open-dcoder": make_open_dcoder(root / "open-dcoder"),
    }


def transformers_reference(folder):
    """transformers' Qwen2ForCausalLM / Qwen3ForCausalLM on the same weights (bf16 → float32)."""
    from safetensors.torch import load_file
    from transformers import Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM

    cfg = json.loads((folder / "config.json").read_text())
    qwen3 = cfg["model_type"] == "a2d-qwen3"
    keys = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
            "vocab_size", "max_position_embeddings", "rope_theta", "rms_norm_eps", "tie_word_embeddings")
    kwargs = {k: cfg[k] for k in keys}
    if qwen3:
        config, cls = Qwen3Config(head_dim=cfg["head_dim"], **kwargs), Qwen3ForCausalLM
    else:
        config, cls = Qwen2Config(**kwargs), Qwen2ForCausalLM
    config._attn_implementation = "eager"
    ref = cls(config).eval()
    state = {k: v.float() for k, v in load_file(str(folder / "model.safetensors")).items()}
    missing, unexpected = ref.load_state_dict(state, strict=False)
    assert not unexpected and set(missing) <= {"lm_head.weight"}, (missing, unexpected)
    if cfg["tie_word_embeddings"]:
        ref.tie_weights()
    return ref


@pytest.mark.parametrize("name", ["dream", "a2d-qwen3", "a2d-qwen2", "open-dcoder"])
def test_native_logits_match_transformers_run_bidirectionally(folders, name):
    loaded = load_model(folders[name])
    ref = transformers_reference(folders[name])
    torch.manual_seed(0)
    ids = torch.randint(0, 151000, (2, 29))
    full = torch.zeros(2, 1, 29, 29)  # an additive 4-D mask of zeros: every token sees every token
    with torch.no_grad():
        want = ref(input_ids=ids, attention_mask=full).logits
        got = loaded.model(ids)
    diff = (got - want).abs()
    assert diff.max() < 1e-4, f"{name}: max_diff={diff.max():.2e} mean_diff={diff.mean():.2e}"
    # and the attention really is bidirectional: the first position sees the last token
    changed = ids.clone()
    changed[:, -1] = (ids[:, -1] + 7) % 151000
    with torch.no_grad():
        assert not torch.allclose(loaded.model(changed)[:, 0], got[:, 0])


def test_each_layout_resolves_to_its_family_with_its_special_ids(folders):
    expect = {  # family, mask, begin, stops, ends, shift
        "dream": ("dream", 151666, 151643, (151643, 151645), (151645,), True),
        "dream-coder": ("dream", 151666, 151665, (151643, 151645), (151645,), True),
        "diffucoder": ("dream", 151666, 151643, (151643, 151645, 151667), (151645,), True),
        "a2d-qwen3": ("a2d", 151669, None, (151643, 151645), (151645,), False),
        "a2d-qwen2": ("a2d", 151665, None, (151643, 151645), (151645,), False),
        "open-dcoder": ("open-dcoder", 151665, 151643, (151643, 151645), (151645,), True),
    }
    for name, (family, mask, begin, stops, ends, shift) in expect.items():
        backend = NativeBackend.load(folders[name], device="cpu")
        assert backend.spec.name == family, name
        assert backend.mask_id == mask and backend.layout.begin == begin, name
        assert backend.stop_ids == stops and backend.end_ids == ends and backend.shift_logits is shift, name
        assert backend.banned[mask] and not backend.banned[list(stops)].any(), name
        assert backend.banned[151644] and backend.banned[-1], name  # <|im_start|> and padded rows
    dream = NativeBackend.load(folders["dream"], device="cpu")
    assert dream.max_length == 2048  # Dream's usable context, not config.json's 131072
    assert dream.recipe["schedule"] == "timestep" and dream.recipe["algorithm"] == "entropy"


def test_dream_tokenizer_is_loaded_without_running_repository_code(folders):
    loaded = load_model(folders["dream"])
    assert type(loaded.tokenizer).__name__ == "Qwen2Tokenizer"  # not the repository's DreamTokenizer
    assert loaded.tokenizer.convert_ids_to_tokens([151665, 151666]) == ["<|beginoftext|>", "<|mask|>"]
    text = "def add(a, b):\n    return a + b  # café ✓"
    ids = NativeBackend.load(folders["dream"], device="cpu").encode(text)
    assert ids[:4] == [750, 912, 2877, 11]  # Qwen2's real merges
    assert loaded.tokenizer.decode(ids) == text


def test_plain_autoregressive_qwen_is_refused_and_missing_tokenizer_is_one_line(tmp_path, folders):
    ar = tmp_path / "ar"
    shutil.copytree(folders["open-dcoder"], ar)
    (ar / "generation_config.json").unlink()  # no mask token anywhere: an autoregressive Qwen2
    with pytest.raises(UnsupportedArchitecture, match="Qwen2ForCausalLM.*Dream"):
        load_model(ar)
    custom = tmp_path / "custom"
    shutil.copytree(folders["a2d-qwen3"], custom)
    (custom / "tokenizer.json").unlink()
    with pytest.raises(Exception, match="no tokenizer") as info:
        load_model(custom)
    assert "\n" not in str(info.value)
    assert resolve({"architectures": ["A2DQwen3LMHeadModel"]}).name == "a2d"
    with pytest.raises(BadModelConfig, match="use_sliding_window"):
        cfg = json.loads((folders["a2d-qwen2"] / "config.json").read_text())
        bad = tmp_path / "window"
        shutil.copytree(folders["a2d-qwen2"], bad)
        (bad / "config.json").write_text(json.dumps({**cfg, "use_sliding_window": True}))
        load_model(bad)
