"""GGUF export and header reading: names, rotary permutation, vocabulary, quantization, atomic writes, bad files."""

import json
import shutil

import gguf
import numpy as np
import pytest
import torch

from canvasedit.models.errors import BadModelConfig, BadWeights, ModelNotFound, UnsupportedArchitecture
from canvasedit.models.gguf_file import export_gguf, read_gguf_info
from canvasedit.models.llada import _interleave_rotary
from canvasedit.models.loading import load_model
from canvasedit.models.synthetic import tokenizer_size
from tests.tiny import MASK, make_tiny_llada


def _fields(path):
    reader = gguf.GGUFReader(str(path))
    return reader, {f.name: f.contents() for f in reader.fields.values() if not f.name.startswith("GGUF.")}


def _tensor(reader, name):
    (t,) = [t for t in reader.tensors if t.name == name]
    return t


@pytest.fixture(scope="module")
def gqa_model(tmp_path_factory, tiny_model_dir):
    vocab = tokenizer_size(tiny_model_dir)
    return make_tiny_llada(tmp_path_factory.mktemp("gqa"), seed=3, tokenizer_from=tiny_model_dir,
                           n_heads=4, n_kv_heads=2, embedding_size=vocab + 5)


def test_header_carries_the_llada_hyperparameters_and_special_tokens(tmp_path, gqa_model):
    out = export_gguf(gqa_model, tmp_path / "m.gguf", "f32").path
    _, f = _fields(out)
    config = json.loads((gqa_model / "config.json").read_text())
    assert f["general.architecture"] == "llada"
    assert f["llada.attention.causal"] is False and f["diffusion.shift_logits"] is False
    assert f["llada.block_count"] == config["n_layers"] and f["llada.embedding_length"] == config["d_model"]
    assert f["llada.attention.head_count"] == 4 and f["llada.attention.head_count_kv"] == 2
    assert f["llada.context_length"] == config["max_sequence_length"]
    assert f["llada.rope.dimension_count"] == config["d_model"] // 4
    assert f["tokenizer.ggml.model"] == "gpt2" and f["tokenizer.ggml.pre"] == "gpt-2"
    assert f["tokenizer.ggml.mask_token_id"] == MASK and f["tokenizer.ggml.eos_token_id"] == 0
    assert f["tokenizer.ggml.add_bos_token"] is False


def test_padded_embedding_rows_become_unused_tokens(tmp_path, gqa_model):
    out = export_gguf(gqa_model, tmp_path / "m.gguf", "f32").path
    _, f = _fields(out)
    vocab = tokenizer_size(gqa_model)
    tokens, types = f["tokenizer.ggml.tokens"], f["tokenizer.ggml.token_type"]
    assert len(tokens) == vocab + 5
    assert tokens[vocab:] == [f"[PAD{i}]" for i in range(vocab, vocab + 5)]
    assert set(types[vocab:]) == {gguf.TokenType.UNUSED}
    assert types[MASK] == gguf.TokenType.CONTROL and tokens[MASK] == "<|mdm_mask|>"


def test_every_tensor_is_written_and_q_k_rows_are_permuted_for_llama_cpp_rope(tmp_path, gqa_model):
    out = export_gguf(gqa_model, tmp_path / "m.gguf", "f32").path
    reader, _ = _fields(out)
    model = load_model(gqa_model).model
    names = {t.name for t in reader.tensors}
    assert len(names) == 3 + 9 * model.args.n_layers
    for i, block in enumerate(model.blocks):
        q = _tensor(reader, f"blk.{i}.attn_q.weight").data
        k = _tensor(reader, f"blk.{i}.attn_k.weight").data
        v = _tensor(reader, f"blk.{i}.attn_v.weight").data
        assert np.array_equal(q, _interleave_rotary(block.attn.q_proj.weight.detach(), 4).numpy())
        assert np.array_equal(k, _interleave_rotary(block.attn.k_proj.weight.detach(), 2).numpy())
        assert np.array_equal(v, block.attn.v_proj.weight.detach().numpy())  # values are not rotated
    embed = _tensor(reader, "token_embd.weight").data
    assert np.array_equal(embed, model.embed.weight.detach().numpy())


def test_rotary_permutation_pairs_each_row_with_its_rotate_half_partner():
    D = 8
    w = torch.arange(2 * D, dtype=torch.float32)[:, None]  # two heads, row i holds i
    out = _interleave_rotary(w, 2)[:, 0].tolist()
    # rotate-half pairs (j, j + D/2) become adjacent pairs (2j, 2j + 1), head by head
    assert out == [0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15]


def test_tied_embeddings_write_no_output_tensor(tmp_path, tiny_model_dir):
    folder = make_tiny_llada(tmp_path / "tied", tokenizer_from=tiny_model_dir, weight_tying=True)
    reader, _ = _fields(export_gguf(folder, tmp_path / "t.gguf", "f16").path)
    names = {t.name for t in reader.tensors}
    assert "token_embd.weight" in names and "output.weight" not in names


def test_quantized_export_keeps_norms_f32_and_odd_rows_f16(tmp_path, tiny_model_dir):
    # mlp_hidden_size 100: ffn_down rows are 100 wide, not a multiple of q8_0's 32-value blocks
    folder = make_tiny_llada(tmp_path / "odd", tokenizer_from=tiny_model_dir, mlp_hidden_size=100)
    report = export_gguf(folder, tmp_path / "q.gguf", "q8_0")
    reader, f = _fields(report.path)
    Q = gguf.GGMLQuantizationType
    assert _tensor(reader, "blk.0.attn_q.weight").tensor_type == Q.Q8_0
    assert _tensor(reader, "blk.0.ffn_gate.weight").tensor_type == Q.Q8_0
    assert _tensor(reader, "blk.0.ffn_down.weight").tensor_type == Q.F16
    assert _tensor(reader, "blk.0.attn_norm.weight").tensor_type == Q.F32
    assert f["general.file_type"] == gguf.LlamaFileType.MOSTLY_Q8_0
    assert report.quantized == 2 + 6 * 2  # embed + head, then q/k/v/o/gate/up per block
    assert read_gguf_info(report.path).file_type == "Q8_0"


@pytest.mark.parametrize("qtype", ["f16", "bf16", "q8_0", "q5_0", "q4_0"])
def test_each_type_dequantizes_close_to_the_weights(tmp_path, tiny_model_dir, qtype):
    report = export_gguf(tiny_model_dir, tmp_path / f"{qtype}.gguf", qtype)
    reader, _ = _fields(report.path)
    t = _tensor(reader, "blk.1.ffn_up.weight")
    got = gguf.quants.dequantize(t.data, t.tensor_type).reshape(-1)
    want = load_model(tiny_model_dir).model.blocks[1].mlp.up_proj.weight.detach().numpy().reshape(-1)
    err = np.abs(got - want).max() / np.abs(want).max()
    bound = {"f16": 1e-3, "bf16": 8e-3, "q8_0": 1e-2, "q5_0": 5e-2, "q4_0": 1e-1}[qtype]
    assert err < bound, f"{qtype}: max relative error {err:.4f} >= {bound}"


def test_a_failed_export_leaves_the_old_file_and_no_partial_file(tmp_path, tiny_model_dir):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    data = json.loads((folder / "tokenizer.json").read_text())
    data["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
    (folder / "tokenizer.json").write_text(json.dumps(data))
    out = tmp_path / "keep.gguf"
    out.write_bytes(b"old contents")
    with pytest.raises(BadModelConfig, match="byte-level BPE"):
        export_gguf(folder, out, "f16")
    assert out.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_unknown_type_is_refused(tmp_path, tiny_model_dir):
    with pytest.raises(BadModelConfig, match="unknown GGUF type 'q3_k'"):
        export_gguf(tiny_model_dir, tmp_path / "x.gguf", "q3_k")


def test_reading_a_file_that_is_not_gguf(tmp_path):
    path = tmp_path / "notes.gguf"
    path.write_text("hello")
    with pytest.raises(BadWeights, match="not a GGUF file"):
        read_gguf_info(path)
    with pytest.raises(ModelNotFound):
        read_gguf_info(tmp_path / "missing.gguf")


def test_reading_a_truncated_gguf(tmp_path, tiny_model_dir):
    path = export_gguf(tiny_model_dir, tmp_path / "m.gguf", "f32").path
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 4096])
    with pytest.raises(BadWeights, match="truncated|damaged"):
        read_gguf_info(path)


def test_a_causal_architecture_is_refused(tmp_path):
    path = tmp_path / "llama.gguf"
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_context_length(64)
    w.add_tensor("token_embd.weight", np.zeros((8, 4), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(UnsupportedArchitecture, match="'llama'.*llada"):
        read_gguf_info(path)


# -- Dream and LLaDA-MoE ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dream_export(tmp_path_factory):
    from tests.families import make_dream

    root = tmp_path_factory.mktemp("dream-gguf")
    folder = make_dream(root / "model", "coder")  # slow-only tokenizer files: vocab.json + merges.txt
    path = export_gguf(folder, root / "dream-f32.gguf", "f32").path
    return folder, path, *_fields(path)  # gguf's reader takes seconds on a 150k vocabulary: read once


@pytest.fixture(scope="module")
def moe_export(tmp_path_factory):
    from tests.families import make_llada_moe

    root = tmp_path_factory.mktemp("moe-gguf")
    folder = make_llada_moe(root / "model")
    path = export_gguf(folder, root / "moe-f32.gguf", "f32").path
    return folder, path, *_fields(path)


def test_dream_header_tensors_and_vocabulary(dream_export):
    folder, _, reader, f = dream_export
    assert not (folder / "tokenizer.json").exists()
    assert f["general.architecture"] == "dream" and f["dream.attention.causal"] is False
    assert f["diffusion.shift_logits"] is True
    assert f["dream.context_length"] == 2048  # Dream's usable context, not config.json's 131072
    assert f["tokenizer.ggml.pre"] == "qwen2" and f["tokenizer.ggml.model"] == "gpt2"
    assert f["tokenizer.ggml.mask_token_id"] == 151666 and f["tokenizer.ggml.bos_token_id"] == 151665
    assert f["tokenizer.ggml.eos_token_id"] == 151643 and f["tokenizer.ggml.eot_token_id"] == 151645
    tokens, types = f["tokenizer.ggml.tokens"], f["tokenizer.ggml.token_type"]
    assert len(tokens) == 152064 and tokens[151665:151667] == ["<|beginoftext|>", "<|mask|>"]
    assert tokens[:3] == ["!", '"', "#"] and tokens[151667] == "[PAD151667]"
    assert types[151666] == gguf.TokenType.CONTROL and types[151667] == gguf.TokenType.UNUSED
    assert types[128247] == gguf.TokenType.NORMAL and tokens[128247] == "</s>"  # ordinary text in Qwen2
    assert len(f["tokenizer.ggml.merges"]) == 151387
    model = load_model(folder).model
    assert {t.name for t in reader.tensors} >= {"output.weight", "blk.1.attn_q.bias", "blk.1.attn_v.bias"}
    assert len(reader.tensors) == 3 + 12 * model.args.n_layers
    block = model.blocks[1]
    # Qwen2 names as llama.cpp writes them, rotate-half kept: no row permutation
    assert np.array_equal(_tensor(reader, "blk.1.attn_q.weight").data, block.attn.q_proj.weight.detach().numpy())
    assert np.array_equal(_tensor(reader, "blk.1.attn_k.bias").data, block.attn.k_proj.bias.detach().numpy())


def test_llada_moe_header_and_stacked_experts(moe_export):
    folder, _, reader, f = moe_export
    assert f["general.architecture"] == "llada-moe" and f["llada-moe.attention.causal"] is False
    assert f["llada-moe.expert_count"] == 8 and f["llada-moe.expert_used_count"] == 2
    assert f["llada-moe.expert_feed_forward_length"] == 32 and f["llada-moe.context_length"] == 8192
    assert f["diffusion.shift_logits"] is False and f["tokenizer.ggml.pre"] == "bailingmoe2"
    assert f["tokenizer.ggml.mask_token_id"] == 156895 and f["tokenizer.ggml.eot_token_id"] == 156896
    assert f["tokenizer.ggml.eos_token_id"] == 156892
    model = load_model(folder).model
    assert len(reader.tensors) == 3 + 12 * model.args.n_layers
    moe = model.blocks[1].mlp
    for name, native in (("gate_exps", moe.gate_proj), ("up_exps", moe.up_proj), ("down_exps", moe.down_proj)):
        assert np.array_equal(_tensor(reader, f"blk.1.ffn_{name}.weight").data, native.detach().numpy()), name
    assert np.array_equal(_tensor(reader, "blk.1.ffn_gate_inp.weight").data, moe.router.weight.detach().numpy())
    q_norm = model.blocks[1].attn.q_norm.weight.detach().numpy()
    assert np.array_equal(_tensor(reader, "blk.1.attn_q_norm.weight").data, q_norm)
    assert np.array_equal(_tensor(reader, "blk.1.attn_q.weight").data,
                          model.blocks[1].attn.q_proj.weight.detach().numpy())  # no permutation


@pytest.mark.parametrize("which", ["dream", "moe", "tiny"])
def test_header_reader_agrees_with_ggufs_own_reader(request, which, tmp_path, tiny_model_dir):
    if which == "tiny":
        path = export_gguf(tiny_model_dir, tmp_path / "q.gguf", "q4_0").path
        reader, f = _fields(path)
    else:
        _, path, reader, f = request.getfixturevalue(f"{which}_export")
    info = read_gguf_info(path)
    assert info.arch == f["general.architecture"]
    types = np.array(f["tokenizer.ggml.token_type"])
    assert np.array_equal(info.never_text, (types == gguf.TokenType.CONTROL) | (types == gguf.TokenType.UNUSED))
    counts = {}
    for t in reader.tensors:
        if len(t.shape) > 1:
            counts[t.tensor_type.name] = counts.get(t.tensor_type.name, 0) + 1
    assert info.file_type == max(counts, key=counts.get)


def test_a_header_cut_short_is_damaged(tmp_path, tiny_model_dir):
    path = export_gguf(tiny_model_dir, tmp_path / "m.gguf", "f32").path
    path.write_bytes(path.read_bytes()[:2000])  # inside the vocabulary
    with pytest.raises(BadWeights, match="truncated|damaged"):
        read_gguf_info(path)


def test_a_split_llama_cpp_does_not_know_is_refused(tmp_path, tiny_model_dir):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    data = json.loads((folder / "tokenizer.json").read_text())
    data["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": r"\p{N}{1,3}| ?\p{L}+|\s+"}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    (folder / "tokenizer.json").write_text(json.dumps(data))
    with pytest.raises(BadModelConfig, match="split llama.cpp knows") as info:
        export_gguf(folder, tmp_path / "x.gguf", "f16")
    assert "\n" not in str(info.value)
