"""``canvasedit fill`` end to end on a tiny model: output formats, in-place writes, and bad input."""

import json
import subprocess
import sys

import pytest

from canvasedit.cli import main

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
    assert not list(tmp_path.glob("*.tmp*")) and len(list(tmp_path.iterdir())) == 1


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
