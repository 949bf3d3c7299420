"""Tests for canvasedit.document: byte-exact round trips, refusals, atomic save, LINE:COL."""

from __future__ import annotations

import codecs
import dataclasses
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
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
    FileChangedOnDisk,
    FileTooLarge,
    LineIndex,
    NotARegularFile,
    ReadOnlyFile,
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


@pytest.mark.parametrize("where", [0, 8191, 8192, 100_000])
def test_a_nul_anywhere_makes_a_file_binary(tmp_path: Path, where: int) -> None:
    # A NUL past the first 8 KiB used to load as text and be saved back as such.
    data = b"a" * where + b"\0" + b"b" * 10
    with pytest.raises(BinaryFile, match=f"NUL byte at offset {where}"):
        load_document(write(tmp_path, data))


def test_a_nul_character_in_utf16_is_binary_but_its_nul_bytes_are_not(tmp_path: Path) -> None:
    assert load_document(write(tmp_path, codecs.BOM_UTF16_LE + "ab".encode("utf-16-le"))).text == "ab"
    with pytest.raises(BinaryFile, match="offset 4"):
        load_document(write(tmp_path, codecs.BOM_UTF16_LE + "a\0b".encode("utf-16-le")))


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


# --- decode → encode round trip (property) ---------------------------------------------------

ENCODINGS = ["utf-8", "utf-8-sig", "utf-16-le", "utf-16-be"]


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=64) | st.tuples(st.text(max_size=30), st.sampled_from(ENCODINGS)).map(
    lambda te: document._BOMS.get(te[1], b"") + te[0].encode(te[1].replace("-sig", ""), "surrogatepass")))
def test_bytes_either_round_trip_exactly_or_are_refused_with_a_document_error(data: bytes) -> None:
    try:
        text, encoding = document.decode_bytes(data)
    except DocumentError as exc:
        assert "\n" not in str(exc)
        return
    assert Document(path=None, text=text, encoding=encoding).encoded() == data


@settings(max_examples=2000, deadline=None)
@given(st.text(st.characters(exclude_characters="\0", exclude_categories=["Cs"]), max_size=40), st.sampled_from(ENCODINGS))
def test_text_round_trips_through_every_encoding(text: str, encoding: str) -> None:
    data = Document(path=None, text=text, encoding=encoding).encoded()
    decoded, found = document.decode_bytes(data)
    if encoding == "utf-8" and text.startswith("\ufeff"):
        assert (found, "\ufeff" + decoded) == ("utf-8-sig", text)  # a leading U+FEFF is a BOM: same bytes
    else:
        assert (decoded, found) == (text, encoding)


# --- changed on disk, read-only, not a regular file ------------------------------------------

def test_load_records_the_disk_state(tmp_path: Path) -> None:
    path = write(tmp_path, b"one\n")
    state = load_document(path).disk_state
    assert state is not None and state.exists and state.size == 4 and state.path == path.resolve()
    assert not state.read_only
    assert load_document(tmp_path / "new.txt").disk_state.exists is False


@pytest.mark.parametrize("other", [b"two\n", b"one!\n", b""])  # same size, other size, emptied
def test_a_file_changed_since_loading_is_not_overwritten(tmp_path: Path, other: bytes) -> None:
    path = write(tmp_path, b"one\n")
    doc = load_document(path)
    path.write_bytes(other)
    assert document.disk_changed(doc)
    with pytest.raises(FileChangedOnDisk, match="changed by another program"):
        document.check_unchanged(doc)
    doc.text = "mine\n"
    with pytest.raises(FileChangedOnDisk):
        save_document(doc)
    assert path.read_bytes() == other
    save_document(doc, allow_changed=True)
    assert path.read_bytes() == b"mine\n"


def test_touching_a_file_is_not_a_change(tmp_path: Path) -> None:
    path = write(tmp_path, b"one\n")
    doc = load_document(path)
    os.utime(path, ns=(1, 1))
    path.write_bytes(b"one\n")  # rewritten with the same bytes
    assert not document.disk_changed(doc)
    doc.text = "two\n"
    save_document(doc)
    assert path.read_bytes() == b"two\n"


def test_a_save_records_what_it_wrote_so_the_next_save_compares_with_it(tmp_path: Path) -> None:
    path = write(tmp_path, b"one\n")
    doc = load_document(path)
    for text in ("two\n", "three\n"):
        doc.text = text
        save_document(doc)
        assert doc.disk_state.size == len(text) and not document.disk_changed(doc)
    path.write_bytes(b"theirs\n")
    with pytest.raises(FileChangedOnDisk):
        save_document(doc)


def test_deleted_or_created_since_opening_counts_as_changed(tmp_path: Path) -> None:
    path = write(tmp_path, b"one\n")
    doc = load_document(path)
    path.unlink()
    with pytest.raises(FileChangedOnDisk, match="deleted"):
        save_document(doc)
    new = load_document(tmp_path / "new.txt")
    (tmp_path / "new.txt").write_bytes(b"made elsewhere\n")
    new.text = "mine\n"
    with pytest.raises(FileChangedOnDisk, match="created"):
        save_document(new)
    assert (tmp_path / "new.txt").read_bytes() == b"made elsewhere\n"


def test_a_change_made_while_the_temporary_is_written_is_caught_before_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, b"one\n")
    doc = load_document(path)
    real_fsync = os.fsync

    def fsync_then_someone_writes(fd: int) -> None:
        real_fsync(fd)
        path.write_bytes(b"written meanwhile\n")

    monkeypatch.setattr(document.os, "fsync", fsync_then_someone_writes)
    doc.text = "mine\n"
    with pytest.raises(FileChangedOnDisk):
        save_document(doc)
    assert path.read_bytes() == b"written meanwhile\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_save_as_elsewhere_does_not_compare_with_the_original(tmp_path: Path) -> None:
    path = write(tmp_path, b"one\n")
    doc = load_document(path)
    path.write_bytes(b"changed\n")
    save_document(doc, tmp_path / "copy.txt")
    assert (tmp_path / "copy.txt").read_bytes() == b"one\n"


@pytest.mark.skipif(os.name != "posix", reason="permission bits are POSIX")
def test_a_read_only_file_is_not_replaced_unless_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, b"keep\n")
    path.chmod(0o444)
    doc = load_document(path)
    assert doc.read_only
    doc.text = "changed\n"
    with pytest.raises(ReadOnlyFile, match="read-only") as info:
        save_document(doc)
    assert isinstance(info.value, DocumentError) and "\n" not in str(info.value)
    assert path.read_bytes() == b"keep\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]
    save_document(doc, allow_read_only=True)
    assert path.read_bytes() == b"changed\n" and stat.S_IMODE(path.stat().st_mode) == 0o444


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_is_neither_read_nor_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(NotARegularFile, match="is a FIFO"):
        load_document(fifo)
    with pytest.raises(NotARegularFile, match="is a FIFO"):
        save_document(Document(path=None, text="x\n"), fifo)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    link = tmp_path / "link"
    link.symlink_to(fifo)
    with pytest.raises(NotARegularFile):
        save_document(Document(path=link, text="x\n"))
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and link.is_symlink()


def test_a_device_node_is_not_replaced(tmp_path: Path) -> None:
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of our own, never the real one
    except (PermissionError, AttributeError, OSError):
        pytest.skip("creating a device node needs root")
    with pytest.raises(NotARegularFile, match="is a device"):
        save_document(Document(path=node, text="x\n"))
    assert stat.S_ISCHR(node.lstat().st_mode)


def test_a_directory_is_not_a_save_target(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    with pytest.raises(NotARegularFile, match="is a directory"):
        save_document(Document(path=None, text="x"), tmp_path / "folder")


# --- temporary files --------------------------------------------------------------------------

@pytest.mark.skipif(os.name != "posix", reason="permission bits are POSIX")
@pytest.mark.parametrize("mode", [0o600, 0o644, 0o640])
def test_the_temporary_is_private_while_written_and_the_result_keeps_the_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: int
) -> None:
    path = write(tmp_path, b"secret\n")
    path.chmod(mode)
    seen = []
    real_fchmod = os.fchmod

    def spy(fd: int, new_mode: int) -> None:
        info = os.fstat(fd)
        seen.append((stat.S_IMODE(info.st_mode), info.st_size))
        real_fchmod(fd, new_mode)

    monkeypatch.setattr(document.os, "fchmod", spy)
    save_document(Document(path=path, text="secret and more\n"))
    assert seen == [(0o600, len(b"secret and more\n"))]  # the full content, readable by the owner only
    assert stat.S_IMODE(path.stat().st_mode) == mode


@pytest.mark.skipif(os.name != "posix", reason="permission bits are POSIX")
@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_gets_the_umask(tmp_path: Path, umask: int, expected: int) -> None:
    old = os.umask(umask)
    try:
        assert document.current_umask() == umask and document.new_file_mode() == expected
        save_document(Document(path=tmp_path / "new.txt", text="x\n"))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == expected


def dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          check=True, capture_output=True, text=True)
    return int(proc.stdout)


def test_stale_temporaries_of_a_dead_process_are_removed_on_the_next_load_and_save(tmp_path: Path) -> None:
    path = write(tmp_path, b"one\n")
    stale = tmp_path / f".file.txt.canvasedit-{dead_pid()}-0badf00d.tmp"
    live = tmp_path / f".file.txt.canvasedit-{os.getppid()}-00c0ffee.tmp"
    others = [tmp_path / ".file.txt.swp", tmp_path / f".other.txt.canvasedit-{dead_pid()}-0badf00d.tmp"]
    for extra in [stale, live, *others]:
        extra.write_bytes(b"a full copy\n")
    doc = load_document(path)
    assert not stale.exists() and live.exists() and all(p.exists() for p in others)
    stale.write_bytes(b"again\n")
    save_document(doc)
    assert not stale.exists() and live.exists() and all(p.exists() for p in others)


def test_an_interrupt_while_saving_leaves_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, b"one\n")

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(document.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_document(Document(path=path, text="two\n"))
    assert path.read_bytes() == b"one\n" and sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


KILLED_WRITER = """
import os, sys, time
from pathlib import Path
from canvasedit import document
def stall(fd):
    print("writing", flush=True)
    time.sleep(600)
document.os.fsync = stall
document.save_document(document.Document(path=Path(sys.argv[1]), text="new " * 100_000))
"""


@pytest.mark.skipif(os.name != "posix", reason="kill -9 is POSIX")
def test_kill_9_mid_save_keeps_the_original_and_the_next_save_removes_the_leftover(tmp_path: Path) -> None:
    path = write(tmp_path, b"original\n")
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "writing\n"
    finally:
        proc.kill()
        proc.wait(timeout=30)
    leftovers = [p for p in tmp_path.iterdir() if p.name != "file.txt"]
    assert len(leftovers) == 1 and leftovers[0].stat().st_size == 400_000
    assert path.read_bytes() == b"original\n"
    doc = load_document(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]
    doc.text = "saved\n"
    save_document(doc)
    assert path.read_bytes() == b"saved\n"
