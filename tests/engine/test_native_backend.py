"""The native backend: row-restricted logits, banned rows, and the mask token never predicted."""

import torch

from canvasedit.engine.backends.native import NativeBackend
from canvasedit.models.synthetic import tokenizer_size
from tests.tiny import make_tiny_llada


def test_rows_select_the_same_logits_as_a_full_pass(tiny_backend):
    ids = torch.randint(3, 300, (1, 24))
    rows = torch.tensor([3, 7, 20])
    assert torch.allclose(tiny_backend.logits(ids, rows), tiny_backend.logits(ids)[:, rows], atol=1e-5)


def test_padded_embedding_rows_and_the_mask_are_banned_but_keep_their_logits(tmp_path, tiny_model_dir):
    vocab = tokenizer_size(tiny_model_dir)
    folder = make_tiny_llada(tmp_path / "padded", tokenizer_from=tiny_model_dir, embedding_size=vocab + 6)
    backend = NativeBackend.load(folder, device="cpu")
    logits = backend.logits(torch.randint(3, vocab, (1, 16)))
    assert logits.shape[-1] == vocab + 6 == backend.banned.shape[0]
    assert torch.isfinite(logits).all()  # the sampler normalises over every row, as generate() does
    assert backend.banned[vocab:].all() and backend.banned[backend.mask_id]
    assert not backend.banned[list(backend.stop_ids)].any() and not backend.banned[3:vocab].any()


def test_special_token_strings_in_a_document_are_plain_text(tiny_backend):
    ids = tiny_backend.encode("s = '<|mdm_mask|>' + '<|endoftext|>'")
    assert tiny_backend.mask_id not in ids and not set(tiny_backend.stop_ids) & set(ids)
    assert tiny_backend.decode(ids) == "s = '<|mdm_mask|>' + '<|endoftext|>'"
