"""LLaDA-MoE: a real-layout tiny checkpoint against transformers' Qwen3MoeForCausalLM (per-head q/k norm,
softmax top-k experts, ``norm_topk_prob=False``) run with a full non-causal mask; how the registry tells it
from LLaDA-8B; its special tokens; the config variants it refuses."""

import json
import shutil

import pytest
import torch

from canvasedit.engine.backends.native import NativeBackend
from canvasedit.models.errors import BadModelConfig
from canvasedit.models.loading import load_model
from canvasedit.models.registry import resolve
from canvasedit.models.synthetic import write_random_llada
from tests.families import make_llada_moe

MASK, EOS, ROLE_END = 156895, 156892, 156896


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return make_llada_moe(tmp_path_factory.mktemp("llada-moe") / "model")


def qwen3_moe_reference(folder, norm_topk_prob=False):
    """transformers' Qwen3MoeForCausalLM on the same weights, experts converted to its fused layout."""
    from safetensors.torch import load_file
    from transformers import Qwen3MoeConfig, Qwen3MoeForCausalLM

    cfg = json.loads((folder / "config.json").read_text())
    config = Qwen3MoeConfig(
        hidden_size=cfg["hidden_size"], num_hidden_layers=cfg["num_hidden_layers"],
        num_attention_heads=cfg["num_attention_heads"], num_key_value_heads=cfg["num_key_value_heads"],
        head_dim=cfg["hidden_size"] // cfg["num_attention_heads"], vocab_size=cfg["vocab_size"],
        num_experts=cfg["num_experts"], num_experts_per_tok=cfg["num_experts_per_tok"],
        moe_intermediate_size=cfg["expert_intermediate_size"], intermediate_size=cfg["dense_intermediate_size"],
        decoder_sparse_step=1, mlp_only_layers=[], norm_topk_prob=norm_topk_prob,
        max_position_embeddings=cfg["max_position_embeddings"], rope_theta=cfg["rope_theta"],
        rms_norm_eps=cfg["rms_norm_eps"], tie_word_embeddings=False, attention_bias=False,
    )
    config._attn_implementation = "eager"
    ref = Qwen3MoeForCausalLM(config).eval()
    hub = {k: v.float() for k, v in load_file(str(folder / "model.safetensors")).items()}
    state = {k: v for k, v in hub.items() if ".mlp.experts." not in k}
    for i in range(cfg["num_hidden_layers"]):
        def expert(e, name, i=i):
            return hub[f"model.layers.{i}.mlp.experts.{e}.{name}.weight"]

        E = range(cfg["num_experts"])
        # transformers 5 stacks the experts: gate_up_proj (E, 2I, C) = [gate; up], down_proj (E, C, I)
        state[f"model.layers.{i}.mlp.experts.gate_up_proj"] = torch.stack(
            [torch.cat([expert(e, "gate_proj"), expert(e, "up_proj")]) for e in E])
        state[f"model.layers.{i}.mlp.experts.down_proj"] = torch.stack([expert(e, "down_proj") for e in E])
    missing, unexpected = ref.load_state_dict(state, strict=False)
    assert not missing and not unexpected, (missing, unexpected)
    return ref


def test_native_logits_match_qwen3_moe_run_bidirectionally(folder):
    loaded = load_model(folder)
    torch.manual_seed(0)
    ids = torch.randint(0, 156000, (2, 29))
    full = torch.zeros(2, 1, 29, 29)  # an additive 4-D mask of zeros: every token sees every token
    with torch.no_grad():
        want = qwen3_moe_reference(folder)(input_ids=ids, attention_mask=full).logits
        renormalised = qwen3_moe_reference(folder, norm_topk_prob=True)(input_ids=ids, attention_mask=full).logits
        got = loaded.model(ids)
    diff = (got - want).abs()
    assert diff.max() < 1e-4, f"max_diff={diff.max():.2e} mean_diff={diff.mean():.2e}"
    # the routing is really compared: renormalising the top-k weights would give other logits
    assert (got - renormalised).abs().max() > 1e-2
    changed = ids.clone()
    changed[:, -1] = (ids[:, -1] + 7) % 156000
    with torch.no_grad():
        assert not torch.allclose(loaded.model(changed)[:, 0], got[:, 0])  # the first position sees the last


def test_experts_are_stacked_and_the_float32_router_is_read(folder):
    from safetensors import safe_open

    with safe_open(str(folder / "model.safetensors"), framework="pt") as fh:
        assert fh.get_tensor("model.layers.0.mlp.gate.weight").dtype == torch.float32
        assert "model.layers.1.mlp.experts.7.down_proj.weight" in set(fh.keys())
    model = load_model(folder).model
    moe = model.blocks[1].mlp
    assert moe.gate_proj.shape == (8, 32, 64) and moe.down_proj.shape == (8, 64, 32)
    assert moe.router.weight.shape == (8, 64) and moe.top_k == 2 and not moe.renormalise
    assert model.blocks[0].attn.q_norm is not None and model.blocks[0].attn.q_norm.weight.shape == (16,)


def test_special_tokens_come_from_the_tokenizer(folder):
    config = json.loads((folder / "config.json").read_text())
    assert "mask_token_id" not in config  # as on the hub: the mask is found as <|mask|> in the tokenizer
    backend = NativeBackend.load(folder, device="cpu")
    assert backend.spec.name == "llada-moe" and backend.mask_id == MASK
    assert backend.stop_ids == (EOS, ROLE_END) and backend.end_ids == (ROLE_END,)
    assert backend.banned[[156893, 156894, MASK]].all() and backend.banned[156897:].all()
    assert not backend.banned[[EOS, ROLE_END]].any() and not backend.banned[:156892].any()
    assert backend.layout.begin is None and not backend.shift_logits and backend.max_length == 8192
    assert backend.recipe["schedule"] == "block" and backend.recipe["block_length"] == 32


def test_llada_moe_is_told_from_llada_by_its_experts(folder, tmp_path):
    config = json.loads((folder / "config.json").read_text())
    assert resolve(config).name == "llada-moe"
    assert resolve({**config, "architectures": None}).name == "llada-moe"  # model_type "llada" + num_experts
    assert resolve({"architectures": ["LLaDAModelLM"], "model_type": "llada", "d_model": 64}).name == "llada"
    # iLLaDA reuses LLaDA's code and config with its own mask id 5
    illada = NativeBackend.load(write_random_llada(tmp_path / "illada", mask_token_id=5), device="cpu")
    assert illada.spec.name == "llada" and illada.mask_id == 5 and illada.banned[5]


@pytest.mark.parametrize("key, value, words", [
    ("shared_expert_intermediate_size", 512, "shared expert"),
    ("moe_layer_freq", [1, 0], "dense layer"),
    ("partial_rotary_factor", 0.5, "partial rotary"),
    ("moe_router_enable_expert_bias", True, "router bias"),
    ("num_experts_per_tok", 9, "num_experts_per_tok"),
])
def test_variants_it_does_not_run_are_refused_in_one_line(folder, tmp_path, key, value, words):
    bad = tmp_path / "bad"
    shutil.copytree(folder, bad)
    config = json.loads((bad / "config.json").read_text())
    (bad / "config.json").write_text(json.dumps({**config, key: value}))
    with pytest.raises(BadModelConfig, match=words) as info:
        load_model(bad)
    assert "\n" not in str(info.value)
