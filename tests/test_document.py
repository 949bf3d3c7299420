"""Tests for canvasedit.document: byte-exact round trips, refusals, atomic save, LINE:COL."""

from __future__ import annotations

import codecs
import dataclasses
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canvasedit import document
from canvasedit.document import (
    BadPosition,
    BinaryFile,
    DecodeFailed,
    Document,
    DocumentError,
    EncodeFailed,
    FileAccessError,
    FileTooLarge,
    LineIndex,
    load_document,
    normalize_newlines,
    offset_to_position,
    parse_position,
    parse_range,
    position_to_offset,
    save_document,
)

ROUND_TRIPS = {
    "lf": b"def f():\n    return 1\n",
    "crlf": b"line one\r\nline two\r\n",
    "cr": b"old mac\rtext\r",
    "mixed": b"a\r\nb\nc\rd\n\r\n",
    "no_final_newline": b"x = 1",
    "empty": b"",
    "tabs": b"\tindented\n\t\tdeeper\t# tab inside\n",
    "non_ascii": "caf\u00e9 \u65e5\u672c\u8a9e \U0001f600 \u00fc\n\u0394x = 1\r\n".encode(),
    "utf8_bom": codecs.BOM_UTF8 + "bom \u00e9\r\n".encode(),
    "utf16_le": codecs.BOM_UTF16_LE + "wide \u00e9 \U0001f600\r\nnext\n".encode("utf-16-le"),
    "utf16_be": codecs.BOM_UTF16_BE + "big \u00e9\n".encode("utf-16-be"),
}


def write(tmp_path: Path, data: bytes, name: str = "file.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", ROUND_TRIPS)
def test_round_trip_is_byte_exact(tmp_path: Path, name: str) -> None:
    data = ROUND_TRIPS[name]
    path = write(tmp_path, data)
    doc = load_document(path)
    assert doc.encoded() == data
    save_document(doc)
    assert path.read_bytes() == data


def test_load_keeps_line_breaks_and_detects_the_first() -> None:
    assert document.decode_bytes(b"a\r\nb\nc\r")[0] == "a\r\nb\nc\r"


@pytest.mark.parametrize(
    ("data", "newline"),
    [(b"a\nb\r\n", "\n"), (b"a\r\nb\n", "\r\n"), (b"a\rb\n", "\r"), (b"one line", "\n")],
)
def test_newline_is_the_first_line_break(tmp_path: Path, data: bytes, newline: str) -> None:
    assert load_document(write(tmp_path, data)).newline == newline


@pytest.mark.parametrize(
    ("data", "encoding", "label"),
    [
        (b"x", "utf-8", "UTF-8"),
        (codecs.BOM_UTF8 + b"x", "utf-8-sig", "UTF-8 BOM"),
        (codecs.BOM_UTF16_LE + "x".encode("utf-16-le"), "utf-16-le", "UTF-16 LE"),
        (codecs.BOM_UTF16_BE + "x".encode("utf-16-be"), "utf-16-be", "UTF-16 BE"),
    ],
)
def test_encoding_is_detected(tmp_path: Path, data: bytes, encoding: str, label: str) -> None:
    doc = load_document(write(tmp_path, data))
    assert (doc.encoding, doc.encoding_label) == (encoding, label)


@pytest.mark.parametrize("bom", [codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE])
def test_bom_is_not_part_of_the_text(tmp_path: Path, bom: bytes) -> None:
    codec = {codecs.BOM_UTF8: "utf-8", codecs.BOM_UTF16_LE: "utf-16-le", codecs.BOM_UTF16_BE: "utf-16-be"}[bom]
    assert load_document(write(tmp_path, bom + "hello".encode(codec))).text == "hello"


def test_edited_text_is_saved_in_the_original_encoding(tmp_path: Path) -> None:
    path = write(tmp_path, codecs.BOM_UTF16_LE + "a\r\n".encode("utf-16-le"))
    doc = load_document(path)
    save_document(dataclasses.replace(doc, text=doc.text + "\u00e9\r\n"))
    assert path.read_bytes() == codecs.BOM_UTF16_LE + "a\r\n\u00e9\r\n".encode("utf-16-le")


def test_missing_file_is_a_new_empty_document(tmp_path: Path) -> None:
    doc = load_document(tmp_path / "new.py")
    assert doc == Document(path=tmp_path / "new.py", text="", encoding="utf-8", newline="\n")
    save_document(dataclasses.replace(doc, text="x\n"))
    assert (tmp_path / "new.py").read_bytes() == b"x\n"


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileAccessError, match="is a directory"):
        load_document(tmp_path)


def test_binary_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, b"\x7fELF\x02\x01\x01\x00\x00\x00", "a.out")
    with pytest.raises(BinaryFile, match="a.out looks binary") as info:
        load_document(path)
    assert isinstance(info.value, ValueError) and isinstance(info.value, DocumentError)


def test_nul_after_the_sniffed_prefix_fails_as_text_not_binary(tmp_path: Path) -> None:
    # Only the first 8 KiB is sniffed; a later NUL is still valid UTF-8 and loads.
    data = b"a" * document.BINARY_SNIFF_BYTES + b"\0"
    assert load_document(write(tmp_path, data)).text.endswith("\0")


def test_too_large_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, b"x" * 101)
    with pytest.raises(FileTooLarge, match="101 bytes, over the 100-byte limit"):
        load_document(path, max_bytes=100)
    assert load_document(path, max_bytes=101).text == "x" * 101


def test_non_utf8_is_refused_with_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, "caf\u00e9\n".encode("latin-1"), "latin.txt")
    with pytest.raises(DecodeFailed, match="latin.txt is not UTF-8 text") as info:
        load_document(path)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, UnicodeError)


def test_invalid_utf16_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, codecs.BOM_UTF16_LE + b"\x00\xd8")  # a lone high surrogate
    with pytest.raises(DecodeFailed, match="not UTF-16 LE text"):
        load_document(path)


def test_utf32_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, codecs.BOM_UTF32_LE + "x".encode("utf-32-le"))
    with pytest.raises(DecodeFailed, match="UTF-32"):
        load_document(path)


def test_failed_replace_leaves_original_and_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, b"original\n")
    doc = load_document(path)

    def fail(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(document.os, "replace", fail)
    with pytest.raises(FileAccessError, match="No space left on device; the file on disk is unchanged"):
        save_document(dataclasses.replace(doc, text="changed\n"))
    assert path.read_bytes() == b"original\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_unencodable_text_fails_before_touching_the_disk(tmp_path: Path) -> None:
    path = write(tmp_path, b"ok\n")
    doc = dataclasses.replace(load_document(path), text="ok\nbad \ud800 here\n")
    with pytest.raises(EncodeFailed, match=r"file.txt:2:5: character '\\ud800' cannot be written as UTF-8"):
        save_document(doc)
    assert path.read_bytes() == b"ok\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


@pytest.mark.skipif(os.name != "posix", reason="permission bits are POSIX")
def test_save_keeps_permission_bits(tmp_path: Path) -> None:
    path = write(tmp_path, b"#!/bin/sh\n", "run.sh")
    path.chmod(0o751)
    save_document(Document(path=path, text="#!/bin/sh\necho hi\n"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o751


@pytest.mark.skipif(os.name != "posix", reason="symlinks need privileges on Windows")
def test_save_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    real = write(tmp_path, b"old\n", "real.txt")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    save_document(Document(path=link, text="new\n"))
    assert link.is_symlink() and real.read_bytes() == b"new\n"


def test_save_without_a_path_is_an_error() -> None:
    with pytest.raises(DocumentError, match="no file name"):
        save_document(Document(path=None, text="x"))


def test_save_as_writes_elsewhere(tmp_path: Path) -> None:
    source = write(tmp_path, b"a\r\n")
    other = tmp_path / "copy.txt"
    assert save_document(load_document(source), other) == other
    assert other.read_bytes() == b"a\r\n"


def test_normalize_newlines() -> None:
    assert normalize_newlines("a\nb\r\nc\rd", "\r\n") == "a\r\nb\r\nc\r\nd"


# --- positions ------------------------------------------------------------------------------

def test_position_to_offset_counts_characters_and_crlf_as_one_break() -> None:
    text = "ab\r\nc\u00e9d\n\tx"
    assert position_to_offset(text, 1, 1) == 0
    assert position_to_offset(text, 1, 3) == 2  # end of line 1, before \r\n
    assert position_to_offset(text, 2, 1) == 4
    assert position_to_offset(text, 2, 3) == 6  # after the é: characters, not bytes
    assert position_to_offset(text, 3, 2) == 9
    assert position_to_offset(text, 3, 3) == len(text)  # end of file


def test_offset_to_position() -> None:
    text = "ab\r\nc\u00e9d\n\tx"
    assert offset_to_position(text, 0) == (1, 1)
    assert offset_to_position(text, 2) == (1, 3)
    assert offset_to_position(text, 4) == (2, 1)
    assert offset_to_position(text, len(text)) == (3, 3)


def test_trailing_newline_gives_an_empty_last_line() -> None:
    assert offset_to_position("a\r\n", 3) == (2, 1)
    assert position_to_offset("a\r", 2, 1) == 2
    assert LineIndex("a\n").line_count == 2
    assert offset_to_position("", 0) == (1, 1)


@pytest.mark.parametrize(
    ("line", "col", "message"),
    [
        (0, 1, "line 0 is outside the text, which has lines 1..2"),
        (3, 1, "line 3 is outside the text"),
        (1, 4, "column 4 is outside line 1, which has columns 1..3"),
        (2, 0, "column 0 is outside line 2"),
    ],
)
def test_bad_positions(line: int, col: int, message: str) -> None:
    with pytest.raises(BadPosition, match=message):
        position_to_offset("ab\r\ncd", line, col)


@pytest.mark.parametrize("offset", [-1, 7])
def test_offset_outside_text(offset: int) -> None:
    with pytest.raises(BadPosition, match="outside the text, which has offsets 0..6"):
        offset_to_position("ab\r\ncd", offset)


def test_offset_inside_crlf_is_refused() -> None:
    with pytest.raises(BadPosition, match="between the"):
        offset_to_position("ab\r\ncd", 3)


def test_parse_position_and_range() -> None:
    assert parse_position("12:5") == (12, 5)
    assert parse_position(" 7 ") == (7, 1)
    assert parse_range("3:1-4:7") == ((3, 1), (4, 7))
    assert parse_range("3:1-3:1") == ((3, 1), (3, 1))


@pytest.mark.parametrize("spec", ["", "a:b", "1:", ":3", "1:2:3", "-1:2", "0:1", "1:0", "\u0661:1"])
def test_parse_position_rejects(spec: str) -> None:
    with pytest.raises(BadPosition):
        parse_position(spec)


@pytest.mark.parametrize("spec", ["3:1", "4:7-3:1", "3:1-", "3:1-4:7-5:1"])
def test_parse_range_rejects(spec: str) -> None:
    with pytest.raises(BadPosition):
        parse_range(spec)


# Pieces rather than characters, so "\r\n" appears often (and "\r" + "\n" joins into one too).
pieces = st.sampled_from(["a", "b", " ", "\t", "\n", "\r", "\r\n", "\u00e9", "\u65e5", "\U0001f600"])
texts = st.lists(pieces, max_size=40).map("".join)


@given(texts, st.data())
def test_offset_and_position_are_inverse(text: str, data: st.DataObject) -> None:
    index = LineIndex(text)
    # Every offset except those between the \r and \n of a CRLF is a cursor position.
    valid = [i for i in range(len(text) + 1) if not (0 < i < len(text) and text[i - 1 : i + 1] == "\r\n")]
    offset = data.draw(st.sampled_from(valid))
    line, col = index.position(offset)
    assert index.offset(line, col) == offset
    assert position_to_offset(text, line, col) == offset
    assert offset_to_position(text, offset) == (line, col)
    # Same answer as splitting the lines the slow way.
    lines = text[:offset].replace("\r\n", "\n").replace("\r", "\n").split("\n")
    assert (line, col) == (len(lines), len(lines[-1]) + 1)


@given(texts)
def test_every_position_maps_to_an_offset_and_back(text: str) -> None:
    index = LineIndex(text)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    assert index.line_count == len(lines)
    for line_no, line in enumerate(lines, start=1):
        for col in range(1, len(line) + 2):
            assert index.position(index.offset(line_no, col)) == (line_no, col)
