"""``canvasedit fill`` end to end on a tiny model: output formats, in-place writes, and bad input."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canvasedit.cli import main

ROOT = Path(__file__).resolve().parents[1]

SOURCE = '''import math


def area(radius):
    """Area of a circle."""
    return math.pi * radius ** 2


def perimeter(radius):
    return 2 * math.pi * radius
'''


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "shapes.py"
    path.write_bytes(SOURCE.encode())
    return path


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--seed", "123456789012345678901234567890"], "seed must be an integer in [0, 2^63)"),
        (["--temperature", "nan"], "temperature must be a finite number"),
        (["--temperature", "inf"], "temperature must be a finite number"),
        (["--steps", "0"], "steps must be an integer in"),
        (["--threshold", "2"], "threshold must be a number in [0, 1]"),
    ],
)
def test_bad_sampler_flags_exit_2_with_one_line(capsys, source, tiny_model_dir, flags, message):
    code, out, err = run(capsys, "fill", str(source), "--hole", "1:1-1:1:4", "--model", str(tiny_model_dir), *flags)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err, err


def test_schedule_follows_the_family_recipe_unless_given(capsys, source, tiny_model_dir):
    code, out, _ = run(capsys, "fill", str(source), "--hole", "1:1-1:1:16", "--model", str(tiny_model_dir),
                       "--steps", "8", "--json", "--stream")
    assert code == 0
    block = [len(e["committed"]) for e in json.loads(out)["trace"]]
    assert block == [2] * 8  # LLaDA's recipe: the block schedule
    code, out, _ = run(capsys, "fill", str(source), "--hole", "1:1-1:1:16", "--model", str(tiny_model_dir),
                       "--steps", "8", "--json", "--stream", "--schedule", "timestep")
    assert [len(e["committed"]) for e in json.loads(out)["trace"]] == [1, 2, 2, 2, 2, 2, 2, 3]


def test_fill_several_holes_prints_the_document(capsys, source, tiny_model_dir):
    code, out, err = run(capsys, "fill", str(source), "--hole", "6:12-6:31", "--hole", "10:5-10:5:6",
                         "--model", str(tiny_model_dir), "--steps", "4")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:5] == SOURCE.splitlines()[:5]  # text before the first hole untouched
    assert out.startswith(SOURCE[: SOURCE.index("math.pi * radius")])
    assert out.endswith("return 2 * math.pi * radius\n") and "\ndef perimeter(radius):\n    " in out
    assert source.read_text() == SOURCE


def test_fill_json_reports_holes_nfe_and_trace(capsys, source, tiny_model_dir):
    code, out, _ = run(capsys, "fill", str(source), "--hole", "6:12-6:31", "--hole", "1:1-1:1:4",
                       "--model", str(tiny_model_dir), "--steps", "3", "--json", "--stream")
    assert code == 0
    data = json.loads(out)
    assert [h["index"] for h in data["holes"]] == [0, 1]
    assert data["holes"][0]["kind"] == "insert" and data["holes"][1]["kind"] == "replace"
    for h in data["holes"]:
        assert data["text"][h["start"] : h["end"]] == h["text"]
    assert data["nfe"] == len(data["trace"]) == 3
    assert data["trace"][0]["holes"][0].count("░") >= 1


def test_stream_prints_passes_to_stderr(capsys, source, tiny_model_dir):
    code, out, err = run(capsys, "fill", str(source), "--hole", "6:12-6:31", "--model", str(tiny_model_dir),
                         "--steps", "3", "--stream")
    assert code == 0
    assert [line.split(":")[0] for line in err.splitlines()] == ["step 1/3 nfe 1", "step 2/3 nfe 2", "step 3/3 nfe 3"]


def test_in_place_writes_atomically_and_keeps_crlf(capsys, tmp_path, tiny_model_dir):
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"first line\r\nsecond line\r\nthird\r\n")
    code, out, _ = run(capsys, "fill", str(path), "--hole", "2:1-2:7", "--model", str(tiny_model_dir),
                       "--steps", "2", "--in-place")
    assert code == 0 and out == ""
    data = path.read_bytes()
    assert data.startswith(b"first line\r\n") and data.endswith(b" line\r\nthird\r\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["canvasedit-home", "crlf.txt"]  # no temporary left


def test_output_file(capsys, source, tmp_path, tiny_model_dir):
    out_path = tmp_path / "out.py"
    code, _, _ = run(capsys, "fill", str(source), "--hole", "6:12-6:31", "--model", str(tiny_model_dir),
                     "--steps", "2", "-o", str(out_path))
    assert code == 0 and out_path.read_text().startswith("import math\n") and source.read_text() == SOURCE


@pytest.mark.parametrize(
    "hole, message",
    [
        ("99:1-99:4", "line 99"),
        ("6:12-6:31,overlap", "bad --hole"),
        ("1:1-1:1:5000", "reads at most"),
        ("1:1-1:1:10000000000", "reads at most"),  # refused before a mask list of that length exists
    ],
)
def test_bad_holes_exit_2_with_one_line(capsys, source, tiny_model_dir, hole, message):
    code, out, err = run(capsys, "fill", str(source), "--hole", hole, "--model", str(tiny_model_dir))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err
    assert source.read_text() == SOURCE


def test_overlapping_holes(capsys, source, tiny_model_dir):
    code, _, err = run(capsys, "fill", str(source), "--hole", "6:5-6:20", "--hole", "6:10-6:25",
                       "--model", str(tiny_model_dir))
    assert code == 2 and "overlap" in err


def test_bad_model_folders(capsys, source, tmp_path):
    code, _, err = run(capsys, "fill", str(source), "--hole", "1:1-1:3", "--model", str(tmp_path / "none"))
    assert code == 2 and "does not exist" in err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{")
    code, _, err = run(capsys, "fill", str(source), "--hole", "1:1-1:3", "--model", str(broken))
    assert code == 2 and "not valid JSON" in err


def test_binary_and_non_utf8_files_are_refused(capsys, tmp_path, tiny_model_dir):
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x00\x01\x02abc")
    code, _, err = run(capsys, "fill", str(binary), "--hole", "1:1-1:2", "--model", str(tiny_model_dir))
    assert code == 2 and len(err.strip().splitlines()) == 1
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    code, _, err = run(capsys, "fill", str(latin), "--hole", "1:1-1:2", "--model", str(tiny_model_dir))
    assert code == 2 and "UTF-8" in err
    assert latin.read_bytes() == "caf\xe9 cr\xe8me".encode("latin-1")


def test_missing_file(capsys, tmp_path, tiny_model_dir):
    code, _, err = run(capsys, "fill", str(tmp_path / "nope.py"), "--hole", "1:1-1:2", "--model", str(tiny_model_dir))
    assert code == 2 and "no such file" in err


def test_python_dash_m_entry_point(source, tiny_model_dir):
    proc = subprocess.run(
        [sys.executable, "-m", "canvasedit", "fill", str(source), "--hole", "6:12-6:31",
         "--model", str(tiny_model_dir), "--steps", "2", "--json"],
        capture_output=True, text=True, timeout=120, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["holes"][0]["kind"] == "replace"


def test_export_gguf_then_fill_with_it(capsys, source, tmp_path, tiny_model_dir):
    out_path = tmp_path / "tiny-q8_0.gguf"
    code, _, err = run(capsys, "export-gguf", str(out_path), "--model", str(tiny_model_dir), "--type", "q8_0")
    assert code == 0, err
    assert "q8_0" in err and out_path.stat().st_size > 0
    code, out, err = run(capsys, "fill", str(source), "--hole", "6:12-6:31", "--model", str(out_path),
                         "--steps", "4", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["backend"] == "gguf" and result["model"] == "tiny-q8_0.gguf"
    assert result["text"].startswith(SOURCE[:SOURCE.index("return math.pi")])
    assert source.read_bytes() == SOURCE.encode()


def test_export_gguf_bad_input(capsys, tmp_path, tiny_model_dir):
    code, _, err = run(capsys, "export-gguf", str(tmp_path / "model.bin"), "--model", str(tiny_model_dir))
    assert code == 2 and err.count("\n") == 1 and "must end in .gguf" in err
    code, _, err = run(capsys, "export-gguf", str(tmp_path / "m.gguf"), "--model", str(tmp_path / "nowhere"))
    assert code == 2 and err.count("\n") == 1 and "does not exist" in err
    assert not (tmp_path / "m.gguf").exists()


def test_fill_with_a_damaged_gguf_exits_2_and_keeps_the_file(capsys, source, tmp_path, tiny_model_dir):
    good = tmp_path / "good.gguf"
    assert run(capsys, "export-gguf", str(good), "--model", str(tiny_model_dir))[0] == 0
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(good.read_bytes()[:-2048])
    code, out, err = run(capsys, "fill", str(source), "--hole", "6:12-6:31", "--model", str(bad), "--in-place")
    assert code == 2 and err.count("\n") == 1 and "truncated" in err and "bad.gguf" in err
    assert source.read_bytes() == SOURCE.encode()
    code, _, err = run(capsys, "fill", str(source), "--hole", "6:12-6:31", "--model", str(good), "--device", "cuda")
    assert code == 2 and "CPU" in err


# --- saves that respect the file --------------------------------------------------------------

def test_in_place_refuses_when_the_file_changed_while_the_fill_ran(capsys, monkeypatch, source, tiny_model_dir):
    from canvasedit.engine.service import EngineService

    real_fill = EngineService.fill

    def fill_while_someone_edits(*args, **kwargs):
        handle = real_fill(*args, **kwargs)
        source.write_bytes(b"edited elsewhere\n")
        return handle

    monkeypatch.setattr(EngineService, "fill", fill_while_someone_edits)
    code, out, err = run(capsys, "fill", str(source), "--hole", "6:12-6:31", "--model", str(tiny_model_dir),
                         "--steps", "2", "--in-place")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "changed by another program" in err and "nothing was written" in err
    assert source.read_bytes() == b"edited elsewhere\n"
    assert sorted(p.name for p in source.parent.iterdir()) == ["shapes.py"]


def test_in_place_refuses_a_read_only_file_before_loading_the_model(capsys, source, tmp_path):
    source.chmod(0o444)
    code, _, err = run(capsys, "fill", str(source), "--hole", "6:12-6:31", "--model", str(tmp_path / "no-model"),
                         "--in-place")
    assert code == 2 and err.count("\n") == 1 and "read-only" in err  # not the model error: refused first
    assert source.read_bytes() == SOURCE.encode() and (source.stat().st_mode & 0o777) == 0o444


@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
def test_output_onto_something_not_a_regular_file_is_refused(capsys, source, tmp_path, tiny_model_dir, kind):
    import os
    import stat

    target = tmp_path / "target"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "directory":
        target.mkdir()
    else:
        try:
            os.mknod(target, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # our own /dev/null, never the real one
        except OSError:
            pytest.skip("creating a device node needs root")
    before = target.lstat()
    code, out, err = run(capsys, "fill", str(source), "--hole", "6:12-6:31", "--model", str(tiny_model_dir),
                         "-o", str(target))
    assert code == 2 and out == "" and err.count("\n") == 1 and "not a regular file" in err or "directory" in err
    after = target.lstat()
    assert stat.S_IFMT(after.st_mode) == stat.S_IFMT(before.st_mode) and after.st_ino == before.st_ino


def test_filled_line_breaks_follow_a_crlf_file(capsys, tmp_path):
    path = tmp_path / "crlf.py"
    text = (ROOT / "samples" / "example.py").read_text().replace("\n", "\r\n")
    path.write_bytes(text.encode())
    code, out, err = run(capsys, "fill", str(path), "--hole", "30:1-30:1:24", "--steps", "8", "--json")
    assert code == 0, err
    data = json.loads(out)
    filled = data["holes"][0]["text"]
    assert "\r\n" in filled  # the bundled model breaks lines here, so the test can fail
    assert "\n" not in filled.replace("\r\n", "") and "\n" not in data["text"].replace("\r\n", "")
    assert data["text"][data["holes"][0]["start"] : data["holes"][0]["end"]] == filled
    assert data["text"].startswith(text[: text.index("    @property\r\n    def average_word_length")])


def test_in_style_moves_hole_offsets_with_the_longer_breaks():
    from canvasedit.cli import _in_style
    from canvasedit.engine.fill import FilledHole, FillResult
    from canvasedit.params import SamplerParams

    holes = (FilledHole(0, "insert", "a\nb", 2, 5, 2, 2, ()), FilledHole(1, "insert", "c\n", 7, 9, 4, 4, ()))
    result = FillResult("x\r" + "a\nb" + "\ny" + "c\n" + "\r\n", holes, 1, 1, 0.1, 3, (), SamplerParams())
    styled = _in_style(result, "\r\n")
    assert styled.text == "x\r" + "a\r\nb" + "\ny" + "c\r\n" + "\r\n"  # text outside the holes is untouched
    assert [(h.start, h.end, h.text) for h in styled.holes] == [(2, 6, "a\r\nb"), (8, 11, "c\r\n")]
    for h in styled.holes:
        assert styled.text[h.start : h.end] == h.text


def test_the_fill_honours_editor_max_file_bytes(capsys, source, tiny_model_dir, canvasedit_home):
    (canvasedit_home / "config").mkdir(parents=True)
    (canvasedit_home / "config" / "config.toml").write_text("[editor]\nmax_file_bytes = 50\n")
    code, _, err = run(capsys, "fill", str(source), "--hole", "1:1-1:1:2", "--model", str(tiny_model_dir))
    assert code == 2 and err.count("\n") == 1 and "over the 50-byte limit" in err


@pytest.mark.parametrize("kind, message", [("directory", "is a directory"), ("fifo", "is a FIFO")])
def test_a_directory_or_fifo_is_named_as_such_not_missing(capsys, tmp_path, tiny_model_dir, kind, message):
    import os

    path = tmp_path / "thing"
    path.mkdir() if kind == "directory" else os.mkfifo(path)
    code, _, err = run(capsys, "fill", str(path), "--hole", "1:1-1:1:2", "--model", str(tiny_model_dir))
    assert code == 2 and err.count("\n") == 1 and message in err and "no such file" not in err


def test_overlapping_holes_are_reported_as_line_col(capsys, source, tiny_model_dir):
    code, _, err = run(capsys, "fill", str(source), "--hole", "6:5-6:20", "--hole", "6:10-6:25",
                       "--model", str(tiny_model_dir))
    assert code == 2 and err.count("\n") == 1 and "holes 6:5-6:20 and 6:10-6:25 overlap" in err


def test_stale_temporaries_beside_the_file_are_removed_by_the_next_fill(capsys, source, tiny_model_dir):
    import subprocess as sp

    dead = int(sp.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                      check=True).stdout)
    leftover = source.parent / f".shapes.py.canvasedit-{dead}-0badf00d.tmp"
    leftover.write_bytes(SOURCE.encode())
    code, _, err = run(capsys, "fill", str(source), "--hole", "6:12-6:31", "--model", str(tiny_model_dir),
                       "--steps", "2", "--in-place")
    assert code == 0, err
    assert sorted(p.name for p in source.parent.iterdir()) == ["canvasedit-home", "shapes.py"]  # the home: measurements


def test_sigterm_during_a_fill_stops_like_ctrl_c_and_leaves_the_file(tmp_path):
    import os
    import signal

    path = tmp_path / "example.py"
    path.write_bytes((ROOT / "samples" / "example.py").read_bytes())
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}  # the plain kernels: no warnings
    proc = subprocess.Popen(
        [sys.executable, "-m", "canvasedit", "fill", str(path), "--hole", "30:1-30:1:64", "--steps", "64",
         "--stream", "--in-place"], stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        assert any(line.startswith("step 1/") for line in iter(proc.stderr.readline, ""))  # the fill is running
        proc.send_signal(signal.SIGTERM)
        rest = proc.stderr.read()
        assert proc.wait(timeout=120) == 143
    finally:
        proc.kill()
    assert rest.strip().splitlines()[-1] == "canvasedit: terminated; the file is unchanged"
    assert path.read_bytes() == (ROOT / "samples" / "example.py").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["example.py"]


# --- one line for everything ------------------------------------------------------------------

def test_an_unexpected_exception_is_one_line_and_exit_2(capsys, monkeypatch, source, tiny_model_dir):
    from canvasedit.engine.service import EngineService

    def broken(*args, **kwargs):
        raise RuntimeError("something nobody planned for")

    monkeypatch.setattr(EngineService, "fill", broken)
    code, out, err = run(capsys, "fill", str(source), "--hole", "6:12-6:31", "--model", str(tiny_model_dir))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "unexpected RuntimeError: something nobody planned for" in err and "CANVASEDIT_DEBUG=1" in err
    monkeypatch.setenv("CANVASEDIT_DEBUG", "1")
    code, _, err = run(capsys, "fill", str(source), "--hole", "6:12-6:31", "--model", str(tiny_model_dir))
    assert code == 2 and "Traceback (most recent call last)" in err and err.endswith("(run with CANVASEDIT_DEBUG=1 "
                                                                                    "for the traceback)\n")


def test_debug_shows_the_traceback_of_a_handled_error_too(capsys, monkeypatch, source, tmp_path):
    monkeypatch.setenv("CANVASEDIT_DEBUG", "1")
    code, _, err = run(capsys, "fill", str(source), "--hole", "1:1-1:3", "--model", str(tmp_path / "none"))
    assert code == 2 and "Traceback" in err and err.splitlines()[-1].startswith("canvasedit: error:")


def test_a_missing_gguf_extra_names_the_install_command(capsys, monkeypatch, source, tmp_path, tiny_model_dir):
    monkeypatch.setitem(sys.modules, "gguf", None)  # as after `make run`: the base install has no gguf
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"GGUF")
    code, _, err = run(capsys, "fill", str(source), "--hole", "1:1-1:3", "--model", str(fake))
    assert code == 2 and err.count("\n") == 1 and "pip install 'canvasedit[gguf]'" in err
    code, _, err = run(capsys, "export-gguf", str(tmp_path / "out.gguf"), "--model", str(tiny_model_dir))
    assert code == 2 and err.count("\n") == 1 and "pip install 'canvasedit[gguf]'" in err
    assert not list(tmp_path.glob("*.part")) and not (tmp_path / "out.gguf").exists()


@pytest.mark.parametrize("argv", [["fill"], ["fill", "x.py", "--bogus"], ["export-gguf"], ["fill", "x", "--steps"],
                                  ["--bogus"], ["doctor", "--bogus"]])
def test_usage_errors_are_one_line(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and "--help" in err


def test_version(capsys):
    import tomllib

    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    for flag in ("--version", "-V"):
        code, out, _ = run(capsys, flag)
        assert code == 0 and out == f"canvasedit {expected}\n"


# --- the hole parser, property-tested ---------------------------------------------------------

hole_texts = st.lists(st.sampled_from(["a", "b", " ", "\t", "\n", "\r\n", "\r", "é", "\U0001f600"]), max_size=30).map(
    "".join)
numbers = st.integers(0, 12).map(str) | st.sampled_from(["", "-1", "x", "99999999999999999999", "\u0661", " 1"])
specs = st.builds(lambda a, b, c, d, n, sep: f"{a}:{b}{sep}{c}:{d}" + (f":{n}" if n is not None else ""),
                  numbers, numbers, numbers, numbers, st.none() | numbers, st.sampled_from(["-", "-", "--", ":", ""]))


@settings(max_examples=3000, deadline=None)
@given(hole_texts, st.lists(specs, min_size=1, max_size=3))
def test_hole_parser_gives_line_col_offsets_or_one_usage_error(text, hole_specs):
    import itertools
    import re

    from canvasedit.cli import UsageError, parse_holes
    from canvasedit.document import LineIndex

    try:
        holes = parse_holes(text, hole_specs, [], 0.3)
    except UsageError as exc:  # never another exception, and never more than one line
        assert "\n" not in str(exc)
        return
    index = LineIndex(text)
    for hole, spec in zip(holes, hole_specs):
        # parse_holes strips the spaces around a spec (a shell-quoted list may carry them)
        m = re.fullmatch(r"([0-9]+):([0-9]+)-([0-9]+):([0-9]+)(?::([0-9]+))?", spec.strip())
        assert m is not None, spec
        l1, c1, l2, c2 = (int(g) for g in m.groups()[:4])
        assert (hole.start, hole.end) == (index.offset(l1, c1), index.offset(l2, c2))
        assert hole.length == (int(m.group(5)) if m.group(5) else None)
    ordered = sorted(holes, key=lambda h: (h.start, h.end))
    assert not any(a.overlaps(b) for a, b in itertools.pairwise(ordered))


def test_the_editor_path_to_a_gguf_model_names_the_missing_extra_too(monkeypatch, tmp_path):
    # The editor opens models through open_backend, so its error notice carries the same hint.
    from canvasedit.engine import BackendUnavailable, open_backend

    monkeypatch.setitem(sys.modules, "gguf", None)
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"GGUF")
    with pytest.raises(BackendUnavailable, match=r"pip install 'canvasedit\[gguf\]'"):
        open_backend(fake)


def test_export_gguf_gives_the_file_the_umask_mode_and_removes_a_killed_exports_leftover(capsys, tmp_path,
                                                                                          tiny_model_dir):
    import os
    import subprocess as sp

    dead = int(sp.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                      check=True).stdout)
    leftover = tmp_path / f".m.gguf.canvasedit-{dead}-0badf00d.part"
    leftover.write_bytes(b"half a model")
    old = os.umask(0o022)
    try:
        code, _, err = run(capsys, "export-gguf", str(tmp_path / "m.gguf"), "--model", str(tiny_model_dir))
    finally:
        os.umask(old)
    assert code == 0, err
    assert (tmp_path / "m.gguf").stat().st_mode & 0o777 == 0o644  # was 0600, mkstemp's mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.gguf"]


# --- a fill is a measurement too --------------------------------------------------------------

def test_a_fill_records_the_models_speed_and_memory_as_models_measure_does(capsys, source, tiny_model_dir):
    from canvasedit.models.store import measurements

    assert measurements() == {}
    code, out, err = run(capsys, "fill", str(source), "--hole", "6:12-6:31", "--model", str(tiny_model_dir),
                         "--steps", "4")
    assert code == 0 and err == "", err
    seen = measurements()[str(tiny_model_dir)]  # a folder is measured under its path, an entry under its name
    assert seen["tokens_per_s"] > 0 and seen["peak_bytes"] > 10_000_000
    assert (seen["device"], seen["backend"]) == ("cpu", "native")


def test_a_measurement_that_cannot_be_written_leaves_the_fill_a_success(capsys, source, tiny_model_dir):
    from canvasedit import paths

    (paths.data_dir() / "models" / "measurements.json").mkdir(parents=True)  # in the way of the file
    code, out, err = run(capsys, "fill", str(source), "--hole", "6:12-6:31", "--model", str(tiny_model_dir),
                         "--steps", "4")
    assert code == 0 and out.startswith("import math\n")  # the document, filled
    assert err.count("\n") == 1 and err.startswith("canvasedit: note: the fill's speed was not recorded:"), err


def test_measurements_are_named_as_models_list_shows_them(tiny_model_dir):
    from canvasedit.cli import measurement_name
    from canvasedit.config import Settings

    assert measurement_name(None, Settings()) == "canvasedit-tiny"  # the bundled default
    assert measurement_name("canvasedit-tiny", Settings()) == "canvasedit-tiny"
    assert measurement_name("llada-8b-instruct:Q4_K_M", Settings()) == "llada-8b-instruct"  # not pulled: named anyway
    assert measurement_name(str(tiny_model_dir), Settings()) == str(tiny_model_dir)
