"""Revise a selection with an instruction ("make it formal", "add type hints") on an instruct model.

The selection and the instruction become one user message in the model's *own* chat template
(the tokenizer's ``chat_template``; nothing here writes a template). The canvas is that prompt —
its special tokens kept as special tokens — followed by a run of masks for the answer, which is
filled like any hole: streamed step by step, jointly denoised, and allowed to end early (end and
pad tokens are trimmed). The result replaces the selection, as a ``FillResult`` whose one hole is
the answer, so the editor shows it as a pending change like any fill::

    run = instruct(text, start, end, "add type hints", backend, params)
    for shown in passes(run):                # engine/view.py: the answer as it is denoised
        draw(shown.holes[0])
    new_text = run.result.text               # the document with the selection replaced

Document text and the instruction never become special tokens: when either holds a special
token's string (a literal ``<|eot_id|>``), the template's own parts are tokenized with their
special tokens and the message text on its own path, as a document's text always is. Otherwise
the prompt is exactly the template's tokenization, token for token.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from canvasedit.engine.backends import Backend
from canvasedit.engine.canvas import Canvas, Hole, HoleSpan
from canvasedit.engine.errors import BadHole, ContextTooLong, EngineError
from canvasedit.engine.fill import FillRun
from canvasedit.params import SamplerParams

MARGIN_SHARE = 0.5
"""The answer's default room: the selection's tokens plus this share of them (at least ``MIN_MARGIN``)."""
MIN_MARGIN = 16
EMPTY_SELECTION_TOKENS = 64
"""The answer's default length when there is no selection (write something new at the cursor)."""
_SLOT = "\ue000canvasedit-message-{}\ue001"
"""Stand-in for a message's text when the template is rendered to find its own parts (private-use characters)."""


class NotInstructModel(EngineError, ValueError):
    """The model has no chat template, so it cannot take an instruction."""


class BadInstruction(EngineError, ValueError):
    """An empty instruction, or a template that changes the message text beyond recognition."""


def has_chat_template(backend: Backend) -> bool:
    """Whether ``backend``'s model carries a chat template (the editor offers instructions only then)."""
    return _template(backend) is not None


def instruction_message(instruction: str, selection: str) -> str:
    """The user message for ``instruction`` applied to ``selection``."""
    instruction = instruction.strip()
    if not selection:
        return f"{instruction}\n\nReply with the text only, without explanations."
    return f"{instruction}\n\nReply with the rewritten text only, without explanations. The text:\n\n{selection}"


def chat_prompt_ids(backend: Backend, messages: Sequence[Mapping[str, str]]) -> list[int]:
    """The model's chat template over ``messages`` with the assistant's turn opened, as token ids."""
    template = _template(backend)
    if template is None:
        raise NotInstructModel(
            f"{backend.model_name} has no chat template, so it cannot follow an instruction; use an instruct "
            f"model (e.g. --model llada-8b-instruct)"
        )
    messages = [dict(m) for m in messages]
    specials = _special_strings(backend)
    if not any(s in m.get("content", "") for m in messages for s in specials):
        return _template_ids(backend, messages)
    # Text that spells a special token: render the template around stand-ins to find its own parts,
    # then tokenize those with special tokens and the message text as plain text.
    slots = [{**m, "content": _SLOT.format(i)} for i, m in enumerate(messages)]
    skeleton = _render(backend, slots)
    parts: list[str] = []
    rest = skeleton
    for i in range(len(messages)):
        before, found, rest = rest.partition(_SLOT.format(i))
        if not found:
            raise BadInstruction("the chat template does not place every message's text in the prompt")
        parts.append(before)
    parts.append(rest)
    rendered = _render(backend, messages)
    for shaped in ([m["content"] for m in messages], [m["content"].strip() for m in messages]):
        if "".join(p + c for p, c in zip(parts, [*shaped, ""])) == rendered:
            ids: list[int] = []
            for part, content in zip(parts, [*shaped, ""]):
                ids += _encode_special(backend, part) + backend.encode(content)
            return ids
    raise BadInstruction("the chat template changes the message text, so it cannot be kept apart from the "
                         "template's special tokens; remove special-token strings from the text")


def answer_length(backend: Backend, selection: str) -> int:
    """Default answer length: the selection's token count plus a margin; the answer may end early."""
    if not selection:
        return EMPTY_SELECTION_TOKENS
    n = len(backend.encode(selection))
    return n + max(MIN_MARGIN, math.ceil(MARGIN_SHARE * n))


def check_request(text: str, start: int, end: int, instruction: str, length: int | None) -> None:
    """Raise ``BadInstruction`` / ``BadHole`` for an empty instruction, a range outside ``text`` or no room."""
    if not instruction.strip():
        raise BadInstruction("the instruction is empty: say what to do with the selection")
    if not 0 <= start <= end <= len(text):
        raise BadHole(f"selection {start}-{end} lies outside the document (0-{len(text)} characters)")
    if length is not None and length < 1:
        raise BadHole(f"the answer needs room for at least 1 token, got {length}")


def instruct(
    text: str,
    start: int,
    end: int,
    instruction: str,
    backend: Backend,
    params: SamplerParams | None = None,
    length: int | None = None,
) -> FillRun:
    """A fill whose one hole is ``text[start:end]`` rewritten by the model as ``instruction`` asks.

    ``length``: tokens of room for the answer (default ``answer_length``). Raises at once for an
    empty instruction, a range outside the text, a model without a chat template, or a prompt and
    answer longer than the model reads.
    """
    check_request(text, start, end, instruction, length)
    selection = text[start:end]
    message = instruction_message(instruction, selection)
    prompt = chat_prompt_ids(backend, [{"role": "user", "content": message}])
    n = length if length is not None else answer_length(backend, selection)
    if len(prompt) + n > backend.max_length:
        raise ContextTooLong(
            f"the instruction's prompt ({len(prompt)} tokens) and its answer ({n} tokens) do not fit in the "
            f"{backend.max_length} tokens the model reads; select less text"
        )
    hole = Hole(start, end, length=n)
    ids = torch.tensor(prompt + [backend.mask_id] * n, dtype=torch.long)
    span = HoleSpan(hole, len(prompt), len(prompt) + n, tuple(backend.encode(selection)))
    canvas = Canvas(ids, (span,), (text[:start], text[end:]), (len(prompt), 0), lead=0)
    return FillRun(text, [hole], backend, params or SamplerParams.layered(backend.recipe), canvas=canvas)


# -- the model's template ------------------------------------------------------------------------------------


def _template(backend: Backend) -> str | None:
    tokenizer = getattr(backend, "tokenizer", None)
    if tokenizer is not None:
        template = getattr(tokenizer, "chat_template", None)
    else:  # a GGUF file keeps its template in the metadata (tokenizer.chat_template)
        template = getattr(backend, "chat_template", None)
    return template if isinstance(template, str) and template.strip() else None


def _render(backend: Backend, messages: list[dict[str, Any]]) -> str:
    tokenizer = getattr(backend, "tokenizer", None)
    if tokenizer is not None:
        return str(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False))
    from transformers.utils.chat_template_utils import render_jinja_template

    names = getattr(backend, "special_names", {})  # bos_token / eos_token strings the template may use
    rendered = render_jinja_template([messages], chat_template=_template(backend), add_generation_prompt=True,
                                     **names)
    return rendered[0][0] if isinstance(rendered, tuple) else rendered[0]


def _template_ids(backend: Backend, messages: list[dict[str, Any]]) -> list[int]:
    tokenizer = getattr(backend, "tokenizer", None)
    if tokenizer is not None:
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False)
        return [int(t) for t in ids]
    return _encode_special(backend, _render(backend, messages))


def _encode_special(backend: Backend, text: str) -> list[int]:
    """Template text tokenized with its special-token strings read as special tokens."""
    if not text:
        return []
    tokenizer = getattr(backend, "tokenizer", None)
    if tokenizer is not None:
        return [int(t) for t in tokenizer.encode(text, add_special_tokens=False, split_special_tokens=False)]
    encode = getattr(backend, "encode_special", None)
    if encode is None:
        raise NotInstructModel(f"the {backend.name} backend cannot read a chat template's special tokens")
    return list(encode(text))


def _special_strings(backend: Backend) -> list[str]:
    tokenizer = getattr(backend, "tokenizer", None)
    if tokenizer is not None:
        return [t.content for t in tokenizer.added_tokens_decoder.values() if t.content]
    return [s for s in getattr(backend, "special_strings", ()) if s]
