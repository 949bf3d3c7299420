"""ModernBERT: a real-layout tiny checkpoint against transformers' ModernBertForMaskedLM, the local window, the
backends' hidden/lm_head contract with a cache, its [CLS] … [SEP] canvas and special tokens, config variants."""

import json
import shutil

import pytest
import torch

from canvasedit.engine import Hole, SamplerParams, fill
from canvasedit.engine.backends.native import NativeBackend
from canvasedit.engine.canvas import build_canvas
from canvasedit.models import modernbert
from canvasedit.models.errors import BadModelConfig, UnsupportedArchitecture
from canvasedit.models.layers import KVCache
from canvasedit.models.loading import load_model
from canvasedit.models.spec import ConfigReader
from tests.families import make_modernbert

CLS, SEP, PAD, MASK = 50281, 50282, 50283, 50284


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return make_modernbert(tmp_path_factory.mktemp("modernbert") / "model")


@pytest.fixture(scope="module")
def backend(folder):
    return NativeBackend.load(folder, device="cpu")


def transformers_reference(folder):
    from safetensors.torch import load_file
    from transformers import ModernBertConfig, ModernBertForMaskedLM

    config = ModernBertConfig.from_dict(json.loads((folder / "config.json").read_text()))
    config._attn_implementation = "eager"
    ref = ModernBertForMaskedLM(config).eval()
    missing, unexpected = ref.load_state_dict(load_file(str(folder / "model.safetensors")), strict=False)
    assert not unexpected and set(missing) == {"decoder.weight"}, (missing, unexpected)  # tied, as on the hub
    ref.tie_weights()
    assert ref.decoder.weight.data_ptr() == ref.model.embeddings.tok_embeddings.weight.data_ptr()
    return ref


def test_native_logits_match_transformers_modernbert(folder):
    model = load_model(folder).model
    ref = transformers_reference(folder)
    torch.manual_seed(0)
    ids = torch.randint(0, 50280, (2, 29))  # 29 tokens: past the 4-position local half-window many times over
    with torch.no_grad():
        want = ref(input_ids=ids).logits
        got = model(ids)
    diff = (got - want).abs()
    assert diff.max() < 1e-4, f"max_diff={diff.max():.2e} mean_diff={diff.mean():.2e}"
    # the comparison sees the local window: attending globally in every layer gives other logits
    saved = [layer.is_global for layer in model.layers]
    try:
        for layer in model.layers:
            layer.is_global = True
        with torch.no_grad():
            assert (model(ids) - want).abs().max() > 1e-3
    finally:
        for layer, was in zip(model.layers, saved):
            layer.is_global = was


def test_layout_of_the_checkpoint(folder):
    model = load_model(folder).model
    assert [layer.is_global for layer in model.layers] == [True, False, False, True]
    assert isinstance(model.layers[0].attn_norm, torch.nn.Identity)  # layer 0 reads the embedding norm
    assert model.args.window == 4 and model.args.global_theta == 160000.0 and model.args.local_theta == 10000.0
    assert model.lm_head.weight is model.embed.weight and model.lm_head.bias is not None
    assert model.embed_norm.bias is None  # norm_bias false: LayerNorm without bias


def test_hidden_with_a_cache_gives_the_rows_of_a_full_pass(folder):
    """With the first 12 positions blind to the rest (block-causal, two blocks), cached keys are exact."""
    model = load_model(folder).model
    torch.manual_seed(1)
    ids = torch.randint(0, 50280, (1, 20))
    positions = torch.arange(20)[None]
    q, k = torch.arange(20)[:, None], torch.arange(20)[None, :]
    two_blocks = ((k < 12) | (q >= 12))[None, None]  # (1, 1, T, S)
    with torch.no_grad():
        full = model.hidden(ids, mask=two_blocks)
        assert not torch.allclose(full, model.hidden(ids), atol=1e-3)  # the mask matters
        cache = KVCache(len(model.layers))
        head = model.hidden(ids[:, :12], positions[:, :12], cache=cache, store=True)
        rest = model.hidden(ids[:, 12:], positions[:, 12:], cache=cache)  # local layers: window over cached keys
    assert torch.allclose(head, full[:, :12], atol=1e-5)
    assert cache.length == 12
    assert torch.allclose(rest, full[:, 12:], atol=1e-5), (rest - full[:, 12:]).abs().max()


def test_special_tokens_and_recipe(backend):
    assert backend.spec.name == "modernbert" and backend.mask_id == MASK
    assert backend.layout.begin == CLS and backend.layout.finish == SEP and backend.layout.begin_always
    assert backend.stop_ids == (SEP, PAD) and backend.end_ids == () and not backend.shift_logits
    assert backend.banned[[CLS, MASK]].all() and backend.banned[50285:].all()  # rows past the tokenizer
    assert not backend.banned[[SEP, PAD]].any() and not backend.banned[:50281].any()
    assert backend.recipe == {"schedule": "mdlm", "algorithm": "low_confidence", "block_length": 0, "steps": 32}


def test_every_canvas_is_cls_text_sep_even_a_window_cut_from_a_long_document(backend):
    text = "".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(200))
    at = text.index("def f100")
    canvas = build_canvas(text, [Hole(at, at, 8)], backend.encode, 64, MASK, layout=backend.layout)
    assert len(canvas.ids) == 64 and canvas.context[0] > 0 and canvas.context[1] > 0  # cut on both sides
    assert canvas.ids[0] == CLS and canvas.ids[-1] == SEP and canvas.lead == 1


def test_a_fill_commits_every_position_and_keeps_the_text_around_it(backend):
    text = "def add(a, b):\n    return a + b\n"
    run = fill(text, [Hole(15, 15, 6)], backend, SamplerParams.layered(backend.recipe, {"steps": 6}))
    events = list(run)
    assert run.canvas.ids[0] == CLS and run.canvas.ids[-1] == SEP
    assert sorted(c.offset for e in events for c in e.committed) == list(range(6))
    result = run.result
    assert result.text.startswith(text[:15]) and result.text.endswith(text[15:])
    assert not set(result.holes[0].tokens) & {CLS, MASK}


def test_a_checkpoint_that_stores_the_tied_decoder_loads_the_same(folder, tmp_path):
    from safetensors.torch import load_file, save_file

    copy = tmp_path / "stored-decoder"
    shutil.copytree(folder, copy)
    state = load_file(str(copy / "model.safetensors"))
    state["decoder.weight"] = state["model.embeddings.tok_embeddings.weight"].clone()
    save_file(state, str(copy / "model.safetensors"), metadata={"format": "pt"})
    ids = torch.tensor([[CLS, 274, 286, MASK, SEP]])
    with torch.no_grad():
        assert torch.equal(load_model(copy).model(ids), load_model(folder).model(ids))


def test_transformers_5_config_keys_read_as_the_hub_keys(folder):
    hub = json.loads((folder / "config.json").read_text())
    newer = {k: v for k, v in hub.items() if k not in ("global_attn_every_n_layers", "global_rope_theta",
                                                      "local_rope_theta")}
    newer["layer_types"] = ["full_attention", "sliding_attention", "sliding_attention", "full_attention"]
    newer["rope_parameters"] = {"full_attention": {"rope_type": "default", "rope_theta": 160000.0},
                                "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}
    assert modernbert.args_from_config(ConfigReader(newer, "")) == modernbert.args_from_config(ConfigReader(hub, ""))


def test_other_modernbert_heads_and_bad_fields_are_refused(folder, tmp_path):
    hub = json.loads((folder / "config.json").read_text())
    with pytest.raises(UnsupportedArchitecture, match="ModernBertForSequenceClassification.*ModernBERT"):
        from canvasedit.models.registry import resolve

        resolve({**hub, "architectures": ["ModernBertForSequenceClassification"]})
    bad = tmp_path / "bad"
    shutil.copytree(folder, bad)
    (bad / "config.json").write_text(json.dumps({**hub, "hidden_activation": "swish_of_swish"}))
    with pytest.raises(BadModelConfig, match="hidden_activation") as info:
        load_model(bad)
    assert "\n" not in str(info.value)
