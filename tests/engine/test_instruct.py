"""Revise with an instruction: the model's own chat template, token for token, then a masked answer
that replaces the selection — on tiny LLaDA-8B-Instruct and Dream-v0-Instruct layouts."""

import pytest
import torch

from canvasedit.engine import BadHole, ContextTooLong, SamplerParams
from canvasedit.engine.backends.native import NativeBackend
from canvasedit.engine.instruct import (
    BadInstruction,
    NotInstructModel,
    answer_length,
    chat_prompt_ids,
    has_chat_template,
    instruct,
    instruction_message,
)
from canvasedit.engine.view import passes
from canvasedit.models.catalog import bundled_path
from tests.families import make_dream
from tests.tiny import make_llada_real_layout

pytestmark = pytest.mark.usefixtures("reference_kernels")

TEXT = "Dear team,\nhey, the build is broken again, pls fix it asap.\nThanks\n"
START, END = TEXT.index("hey"), TEXT.index("asap.") + len("asap.")


@pytest.fixture(scope="module", params=["llada-instruct", "dream-instruct"])
def chat_model(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param) / "model"
    make = make_llada_real_layout if request.param == "llada-instruct" else make_dream
    return NativeBackend.load(make(folder), device="cpu")


def own_template(backend, messages):
    return backend.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False)


def test_the_prompt_is_the_models_own_template_token_for_token(chat_model):
    messages = [{"role": "user", "content": instruction_message("make it formal", TEXT[START:END])}]
    assert has_chat_template(chat_model)
    ids = chat_prompt_ids(chat_model, messages)
    assert ids == list(own_template(chat_model, messages))
    specials = {t for t in chat_model.tokenizer.added_tokens_decoder}
    assert sum(t in specials for t in ids) >= 3  # the template's own special tokens are special tokens


def test_special_token_strings_in_the_text_stay_text(chat_model):
    end_of_turn = "<|eot_id|>" if "<|eot_id|>" in chat_model.tokenizer.get_vocab() else "<|im_end|>"
    selection = f"print('{end_of_turn}')  # a file that spells the end-of-turn token"
    messages = [{"role": "user", "content": instruction_message("explain", selection)}]
    ids = chat_prompt_ids(chat_model, messages)
    eot = chat_model.tokenizer.convert_tokens_to_ids(end_of_turn)
    plain = [{"role": "user", "content": instruction_message("explain", "print('x')")}]
    assert ids.count(eot) == list(own_template(chat_model, plain)).count(eot)  # only the template's own
    assert list(own_template(chat_model, messages)).count(eot) > ids.count(eot)  # what a naive path would do
    rendered = chat_model.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert chat_model.decode(ids) == rendered  # the same characters, read as text where the document is


def test_the_answer_replaces_the_selection_and_nothing_else(chat_model):
    run = instruct(TEXT, START, END, "make it formal", chat_model, SamplerParams(steps=8))
    selection = TEXT[START:END]
    n = answer_length(chat_model, selection)
    assert n == len(chat_model.encode(selection)) + max(16, -(-len(chat_model.encode(selection)) // 2))
    prompt = chat_prompt_ids(chat_model, [{"role": "user", "content": instruction_message("make it formal", selection)}])
    assert run.canvas.ids.tolist() == prompt + [chat_model.mask_id] * n
    events = list(passes(run))
    assert len(events) == 8 and all(len(e.holes) == 1 for e in events)
    result = run.result
    hole = result.holes[0]
    assert result.text == TEXT[:START] + hole.text + TEXT[END:]
    assert (hole.original_start, hole.original_end) == (START, END)
    assert result.text[hole.start : hole.end] == hole.text and hole.kind == "replace"
    assert len(hole.tokens) <= n


def test_the_answer_may_end_early(tmp_path):
    """A model that favours its end-of-turn token writes a short answer; nothing after the end reaches the text."""
    backend = NativeBackend.load(make_llada_real_layout(tmp_path / "m"), device="cpu")
    with torch.no_grad():
        backend.model.lm_head.weight[126348] *= 25  # <|eot_id|>
    run = instruct(TEXT, START, END, "shorten it", backend, SamplerParams(steps=4), length=12)
    result = run.run()
    assert 126348 in [c.token for e in result.trace for c in e.committed]
    assert len(result.holes[0].tokens) < 12
    assert result.text == TEXT[:START] + result.holes[0].text + TEXT[END:]
    assert "<|eot_id|>" not in result.text


def test_an_insertion_point_gets_a_default_room(chat_model):
    run = instruct(TEXT, START, START, "write a greeting", chat_model, SamplerParams(steps=2))
    assert run.canvas.spans[0].length == 64
    result = run.run()
    assert result.text == TEXT[:START] + result.holes[0].text + TEXT[START:]


def test_cancelling_leaves_no_result(chat_model):
    run = instruct(TEXT, START, END, "make it formal", chat_model, SamplerParams(steps=8))
    for _ in run:
        run.cancel()
    assert run.result is None and run.cancelled


def test_bad_input_is_refused_before_any_work(chat_model):
    with pytest.raises(BadInstruction, match="instruction is empty"):
        instruct(TEXT, START, END, "   ", chat_model)
    with pytest.raises(BadHole, match="outside the document"):
        instruct(TEXT, START, len(TEXT) + 3, "fix", chat_model)
    with pytest.raises(ContextTooLong, match="do not fit"):
        instruct(TEXT, START, END, "fix", chat_model, length=chat_model.max_length)


def test_a_model_without_a_chat_template_says_so():
    bundled = NativeBackend.load(bundled_path(), device="cpu")
    assert not has_chat_template(bundled)
    with pytest.raises(NotInstructModel, match="no chat template"):
        instruct(TEXT, START, END, "make it formal", bundled)


def test_the_service_revises_through_a_handle(chat_model):
    from canvasedit.engine.service import EngineService

    service = EngineService(backend=chat_model)
    handle = service.instruct(TEXT, START, END, "make it formal", {"steps": 2}, length=8)
    assert len(list(handle.events())) == 2
    assert handle.result.text == TEXT[:START] + handle.result.holes[0].text + TEXT[END:]


@pytest.fixture(scope="module")
def dream_pair(tmp_path_factory):
    """Dream-v0-Instruct's layout, native and as a GGUF that carries the model's chat template."""
    import gguf
    from gguf.scripts.gguf_new_metadata import MetadataDetails, copy_with_new_metadata

    from canvasedit.engine.backends.gguf import GGUFBackend
    from canvasedit.models.gguf_file import export_gguf, read_gguf_info

    root = tmp_path_factory.mktemp("dream-gguf")
    folder = make_dream(root / "model")
    native = NativeBackend.load(folder, device="cpu")
    plain = export_gguf(folder, root / "plain.gguf", "f32").path
    path = root / "model-chat.gguf"
    reader = gguf.GGUFReader(plain, "r")
    writer = gguf.GGUFWriter(path, arch=reader.get_field(gguf.Keys.General.ARCHITECTURE).contents(),
                             endianess=reader.endianess)
    template = native.tokenizer.chat_template
    copy_with_new_metadata(reader, writer, {gguf.Keys.Tokenizer.CHAT_TEMPLATE: MetadataDetails(
        gguf.GGUFValueType.STRING, template)}, [])
    backend = GGUFBackend(read_gguf_info(path), max_context=256, flash_attention=False)
    yield native, backend
    backend.close()


def test_a_gguf_renders_its_own_template_as_the_native_tokenizer_does(dream_pair):
    native, backend = dream_pair
    assert has_chat_template(backend) and backend.chat_template == native.tokenizer.chat_template
    messages = [{"role": "user", "content": instruction_message("make it formal", TEXT[START:END])}]
    assert chat_prompt_ids(backend, messages) == list(own_template(native, messages))
    tricky = [{"role": "user", "content": instruction_message("explain", "say <|im_end|> now")}]
    ids = chat_prompt_ids(backend, tricky)
    assert ids.count(151645) == list(own_template(native, messages)).count(151645)  # the text's stays text
    result = instruct(TEXT, START, END, "make it formal", backend, SamplerParams(steps=2), length=6).run()
    assert result.text == TEXT[:START] + result.holes[0].text + TEXT[END:]
