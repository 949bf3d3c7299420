"""The native LLaDA model against transformers' Llama, and the loader against bad folders."""

import json
import shutil

import pytest
import torch

from canvasedit.models.errors import BadModelConfig, BadWeights, ModelNotFound, UnsupportedArchitecture
from canvasedit.models.loading import load_model
from canvasedit.models.registry import families, resolve
from tests.tiny import make_tiny_llada


def llama_reference(model_dir):
    """transformers' LlamaForCausalLM holding the same tiny weights (renamed), run non-causally."""
    from safetensors.torch import load_file
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = json.loads((model_dir / "config.json").read_text())
    config = LlamaConfig(
        vocab_size=cfg["embedding_size"], hidden_size=cfg["d_model"], intermediate_size=cfg["mlp_hidden_size"],
        num_hidden_layers=cfg["n_layers"], num_attention_heads=cfg["n_heads"], num_key_value_heads=cfg["n_kv_heads"],
        max_position_embeddings=cfg["max_sequence_length"], rms_norm_eps=cfg["rms_norm_eps"],
        rope_theta=cfg["rope_theta"], hidden_act="silu", attention_bias=False, mlp_bias=False,
        tie_word_embeddings=False,
    )
    config._attn_implementation = "eager"
    ref = LlamaForCausalLM(config).eval()
    renames = {
        "model.transformer.wte.weight": "model.embed_tokens.weight",
        "model.transformer.ln_f.weight": "model.norm.weight",
        "model.transformer.ff_out.weight": "lm_head.weight",
    }
    block = {
        "q_proj": "self_attn.q_proj", "k_proj": "self_attn.k_proj", "v_proj": "self_attn.v_proj",
        "attn_out": "self_attn.o_proj", "attn_norm": "input_layernorm", "ff_norm": "post_attention_layernorm",
        "ff_proj": "mlp.gate_proj", "up_proj": "mlp.up_proj", "ff_out": "mlp.down_proj",
    }
    state = {}
    for name, tensor in load_file(str(model_dir / "model.safetensors")).items():
        if name in renames:
            state[renames[name]] = tensor
            continue
        _, _, _, i, part, _ = name.split(".")
        state[f"model.layers.{i}.{block[part]}.weight"] = tensor
    ref.load_state_dict(state, strict=True)
    return ref


def test_native_logits_match_transformers_llama_bidirectional(tiny_model_dir):
    loaded = load_model(tiny_model_dir)
    ref = llama_reference(tiny_model_dir)
    torch.manual_seed(0)
    ids = torch.randint(0, 300, (2, 37))
    full = torch.zeros(2, 1, 37, 37)  # a 4-D additive mask of zeros: every token sees every token
    with torch.no_grad():
        expected = ref(input_ids=ids, attention_mask=full).logits
        got = loaded.model(ids)
    diff = (got - expected).abs()
    assert diff.max() < 1e-4, f"max_diff={diff.max():.2e} mean_diff={diff.mean():.2e}"


def test_attention_is_bidirectional(tiny_model_dir):
    model = load_model(tiny_model_dir).model
    ids = torch.randint(3, 300, (1, 20))
    changed = ids.clone()
    changed[0, -1] = (ids[0, -1] + 1) % 300
    with torch.no_grad():
        assert not torch.allclose(model(ids)[0, 0], model(changed)[0, 0])


def test_sharded_checkpoint_loads_identically(tmp_path, tiny_model_dir):
    sharded = make_tiny_llada(tmp_path / "sharded", shards=3, tokenizer_from=tiny_model_dir)
    ids = torch.randint(3, 300, (1, 16))
    with torch.no_grad():
        a = load_model(tiny_model_dir).model(ids)
        b = load_model(sharded).model(ids)
    assert torch.equal(a, b)
    assert len(list(sharded.glob("model-*.safetensors"))) == 3


def test_tied_embeddings_share_one_matrix(tmp_path, tiny_model_dir):
    tied = make_tiny_llada(tmp_path / "tied", weight_tying=True, tokenizer_from=tiny_model_dir)
    model = load_model(tied).model
    assert model.lm_head.weight.data_ptr() == model.embed.weight.data_ptr()


def test_special_tokens_come_from_config(tiny_model_dir):
    loaded = load_model(tiny_model_dir)
    assert loaded.tokens.mask == 2 and set(loaded.tokens.stops) == {0, 1} and loaded.max_length == 256


def copy_model(src, dst):
    shutil.copytree(src, dst)
    return dst


def test_missing_folder_and_missing_files(tmp_path, tiny_model_dir):
    with pytest.raises(ModelNotFound, match="does not exist"):
        load_model(tmp_path / "nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelNotFound, match="config.json"):
        load_model(empty)
    no_weights = copy_model(tiny_model_dir, tmp_path / "noweights")
    (no_weights / "model.safetensors").unlink()
    with pytest.raises(ModelNotFound, match="safetensors"):
        load_model(no_weights)
    (no_weights / "pytorch_model.bin").write_bytes(b"not read")
    with pytest.raises(BadWeights, match="pickle"):
        load_model(no_weights)


def test_malformed_config_and_unsupported_architecture(tmp_path, tiny_model_dir):
    bad = copy_model(tiny_model_dir, tmp_path / "bad")
    (bad / "config.json").write_text("{not json")
    with pytest.raises(BadModelConfig):
        load_model(bad)
    cfg = json.loads((tiny_model_dir / "config.json").read_text())
    (bad / "config.json").write_text(json.dumps({**cfg, "architectures": ["GPT2LMHeadModel"]}))
    with pytest.raises(UnsupportedArchitecture, match="GPT2LMHeadModel.*runs LLaDA"):
        load_model(bad)
    missing_field = {k: v for k, v in cfg.items() if k != "d_model"}
    (bad / "config.json").write_text(json.dumps(missing_field))
    with pytest.raises(BadModelConfig, match="d_model"):
        load_model(bad)


def test_wrong_shapes_and_corrupt_weights(tmp_path, tiny_model_dir):
    bad = copy_model(tiny_model_dir, tmp_path / "shape")
    cfg = json.loads((bad / "config.json").read_text())
    (bad / "config.json").write_text(json.dumps({**cfg, "mlp_hidden_size": 128}))
    with pytest.raises(BadWeights, match="expected shape"):
        load_model(bad)
    corrupt = copy_model(tiny_model_dir, tmp_path / "corrupt")
    (corrupt / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(BadWeights):
        load_model(corrupt)


def test_registry_resolves_by_architectures_not_model_type():
    assert resolve({"architectures": ["LLaDAModelLM"]}).name == "llada"
    with pytest.raises(UnsupportedArchitecture, match="GSAI-ML/LLaDA-8B-Instruct"):
        resolve({"architectures": ["GPT2LMHeadModel"]})
    with pytest.raises(UnsupportedArchitecture, match="no 'architectures'"):
        resolve({"model_type": "llada"})
    assert "llada" in {spec.name for spec in families()}


def test_config_fields_of_the_wrong_type_or_range_are_one_line(tmp_path, tiny_model_dir):
    cfg = json.loads((tiny_model_dir / "config.json").read_text())
    bad = copy_model(tiny_model_dir, tmp_path / "fields")
    cases = {
        "architectures": (5, UnsupportedArchitecture, "architectures"),
        "d_model": (-256, BadModelConfig, "d_model must be an integer in"),
        "n_heads": (0, BadModelConfig, "n_heads must be an integer in"),
        "mask_token_id": (999999, BadModelConfig, "mask"),
        "max_sequence_length": (1e12, BadModelConfig, "max_sequence_length must be an integer in"),
        "rope_theta": ("big", BadModelConfig, "rope_theta must be a finite number"),
        "weight_tying": ("yes", BadModelConfig, "weight_tying must be true or false"),
    }
    for key, (value, error, message) in cases.items():
        (bad / "config.json").write_text(json.dumps({**cfg, key: value}))
        with pytest.raises(error, match=message) as info:
            load_model(bad)
        assert "\n" not in str(info.value), key


def test_integer_weights_and_shards_outside_the_folder_are_refused(tmp_path, tiny_model_dir):
    from safetensors.torch import load_file, save_file

    ints = copy_model(tiny_model_dir, tmp_path / "ints")
    state = load_file(str(ints / "model.safetensors"))
    state["model.transformer.ln_f.weight"] = state["model.transformer.ln_f.weight"].to(torch.int32)
    save_file(state, str(ints / "model.safetensors"))
    with pytest.raises(BadWeights, match="must be floats"):
        load_model(ints)
    outside = copy_model(tiny_model_dir, tmp_path / "outside")
    (outside / "model.safetensors").rename(tmp_path / "elsewhere.safetensors")
    index = {"weight_map": {name: "../elsewhere.safetensors" for name in state}}
    (outside / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(BadWeights, match="outside the model folder"):
        load_model(outside)
