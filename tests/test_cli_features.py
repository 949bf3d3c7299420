"""``canvasedit score``, ``canvasedit expand`` and ``fill --instruct`` / ``--length-search`` end to end, with ``--json``."""

import json

import pytest

from canvasedit.cli import main
from canvasedit.models.catalog import bundled_path
from tests.tiny import make_llada_real_layout

PLANTED = '''import os


def read_lines(path):
    """Return the lines of the file at path."""
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


def count_words(text):
    words = text.split()
    return len(words return
'''

OUTLINE = '''def parse(path):
    """Read the file at path."""


def render(tree):
    """Turn a tree into text."""
    ...
'''

LETTER = "Dear team,\nhey, the build is broken again, pls fix it asap.\nThanks\n"


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def planted(tmp_path):
    path = tmp_path / "words.py"
    path.write_text(PLANTED)
    return path


@pytest.fixture(scope="module")
def instruct_model(tmp_path_factory):
    return make_llada_real_layout(tmp_path_factory.mktemp("llada-instruct") / "model")


# -- score ---------------------------------------------------------------------------------------------------


def test_score_json_marks_the_planted_token(capsys, planted):
    code, out, err = run(capsys, "score", planted, "--json", "--model", bundled_path())
    assert code == 0, err
    data = json.loads(out)
    assert data["passes"] == 4 and data["windows"] == 1 and data["scored"] == len(data["tokens"]) >= 60
    at = PLANTED.index(" return", PLANTED.index("len(words"))
    token = next(t for t in data["tokens"] if t["start"] == at)
    assert token["text"] == " return" and token["marked"] and token["at"] == "12:21"
    least = sorted(data["tokens"], key=lambda t: t["probability"])[:3]
    assert token in least
    assert any(h["start"] <= at < h["end"] for h in data["holes"])
    assert data["marked"] == sum(t["marked"] for t in data["tokens"])


def test_score_table_lists_marked_tokens_with_the_models_choice(capsys, planted):
    code, out, err = run(capsys, "score", planted, "--marked", "--threshold", "0.001", "--model", bundled_path())
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["LINE:COL", "p", "token"]
    assert any(line.startswith("12:21") and " return" in line and "!" in line for line in lines[1:])
    assert all("!" in line for line in lines[1:])  # --marked: nothing above the threshold
    assert "tokens scored in 4 passes" in err


def test_score_a_range_only(capsys, planted):
    code, out, _ = run(capsys, "score", planted, "--range", "12:5-12:15", "--json", "--model", bundled_path())
    assert code == 0
    tokens = json.loads(out)["tokens"]
    assert tokens and all(t["at"].startswith("12:") for t in tokens)
    assert "".join(t["text"] for t in tokens).strip().startswith("return len")


@pytest.mark.parametrize("flags, message", [
    (["--range", "12:5"], "bad --range"),
    (["--range", "12:9-12:1"], "ends before it starts"),
    (["--range", "99:1-99:2"], "bad --range"),
    (["--threshold", "2"], "--threshold must be a probability"),
    (["--passes", "0"], "scoring passes must be in"),
])
def test_score_bad_input_is_one_line_and_exit_2(capsys, planted, flags, message):
    code, out, err = run(capsys, "score", planted, *flags, "--model", bundled_path())
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err, err


# -- fill --length-search ------------------------------------------------------------------------------------


def test_length_search_json_reports_every_candidate_and_keeps_the_best(capsys, tmp_path):
    path = tmp_path / "shapes.py"
    path.write_text("def area(radius):\n    return math.pi * radius ** 2\n")
    code, out, err = run(capsys, "fill", path, "--hole", "2:12-2:28:6", "--length-search", "--json", "--steps", "4",
                         "--model", bundled_path())
    assert code == 0, err
    data = json.loads(out)
    search = data["length_search"]
    assert search["requested"] == [6]
    assert [c["lengths"] for c in search["candidates"]] == [[3], [4], [6], [8], [9], [12]]
    assert [c["free"] for c in search["candidates"]] == [False] * 5 + [True]
    best = max(search["candidates"], key=lambda c: c["score"])
    assert search["chosen"] == best["index"] and search["score"] == best["score"]
    assert data["holes"][0]["text"] == best["texts"][0]
    assert data["text"] == "def area(radius):\n    return " + best["texts"][0] + " ** 2\n"
    assert search["backend_calls"] < search["forward_passes"]  # the candidates shared batched calls
    assert all(c["tokens"] == c["lengths"] for c in search["candidates"][:-1])


def test_length_search_streams_each_candidate(capsys, tmp_path):
    path = tmp_path / "a.py"
    path.write_text("x = 1\ny = 2\n")
    code, out, err = run(capsys, "fill", path, "--hole", "2:5-2:6:2", "--length-search", "--stream", "--steps", "2",
                         "--model", bundled_path())
    assert code == 0
    assert "[1] " in err and "[free 4] " in err
    assert out.startswith("x = 1\ny = ")


# -- fill --instruct -----------------------------------------------------------------------------------------


def test_instruct_rewrites_the_range_through_the_chat_template(capsys, tmp_path, instruct_model):
    from canvasedit.engine.backends.native import NativeBackend
    from canvasedit.engine.instruct import chat_prompt_ids, instruction_message

    path = tmp_path / "letter.txt"
    path.write_text(LETTER)
    code, out, err = run(capsys, "fill", path, "--instruct", "make it formal", "--revise", "2:1-2:49", "--json",
                         "--steps", "4", "--answer-length", "24", "--model", instruct_model)
    assert code == 0, err
    data = json.loads(out)
    backend = NativeBackend.load(instruct_model, device="cpu")
    selection = LETTER.splitlines()[1][:48]
    prompt = chat_prompt_ids(backend, [{"role": "user", "content": instruction_message("make it formal", selection)}])
    assert data["instruct"] == {"instruction": "make it formal", "prompt_tokens": len(prompt), "answer_tokens": 24}
    hole = data["holes"][0]
    assert data["text"] == "Dear team,\n" + hole["text"] + "\nThanks\n"
    assert path.read_text() == LETTER  # no -o / --in-place: the file is untouched


@pytest.mark.parametrize("flags, message", [
    (["--instruct", "fix", "--hole", "1:1-1:5"], "exactly one range"),
    (["--instruct", "fix", "--revise", "1:1-1:5", "--revise", "2:1-2:3"], "exactly one range"),
    (["--instruct", "  ", "--revise", "1:1-1:5"], "needs an instruction"),
    (["--instruct", "fix", "--revise", "1:1-1:5", "--length-search"], "does not combine"),
    (["--revise", "1:1-1:5", "--length-search"], "needs --hole ranges"),
    (["--hole", "1:1-1:5", "--answer-length", "8"], "goes with --instruct"),
])
def test_fill_feature_flags_that_do_not_combine_exit_2(capsys, tmp_path, flags, message):
    path = tmp_path / "letter.txt"
    path.write_text(LETTER)
    code, out, err = run(capsys, "fill", path, *flags, "--model", bundled_path())
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err, err


def test_instruct_on_a_model_without_a_template_exits_2(capsys, tmp_path):
    path = tmp_path / "letter.txt"
    path.write_text(LETTER)
    code, out, err = run(capsys, "fill", path, "--instruct", "fix", "--revise", "2:1-2:5", "--model", bundled_path())
    assert code == 2 and out == "" and "no chat template" in err


# -- expand --------------------------------------------------------------------------------------------------


def test_expand_json_fills_every_body_jointly(capsys, tmp_path):
    path = tmp_path / "outline.py"
    path.write_text(OUTLINE)
    code, out, err = run(capsys, "expand", path, "--json", "--length", "6", "--steps", "6", "--model", bundled_path())
    assert code == 0, err
    data = json.loads(out)
    assert [(i["kind"], i["title"]) for i in data["items"]] == [("function", "parse"), ("function", "render")]
    parse, render = data["holes"]
    at = OUTLINE.index('path."""') + len('path."""')
    assert (parse["original_start"], parse["original_end"]) == (at, at)
    assert parse["text"].startswith("\n    ") and parse["tokens"] <= 6
    dots = OUTLINE.index("...")
    assert (render["original_start"], render["original_end"]) == (dots, dots + 3)
    assert data["text"] == OUTLINE[:at] + parse["text"] + OUTLINE[at:dots] + render["text"] + OUTLINE[dots + 3 :]


def test_expand_in_place_writes_the_file(capsys, tmp_path):
    path = tmp_path / "plan.md"
    path.write_text("# Plan\n\n- Why\n- How\n")
    code, out, err = run(capsys, "expand", path, "--in-place", "--length", "4", "--steps", "4",
                         "--model", bundled_path())
    assert code == 0 and out == "", err
    text = path.read_text()
    assert text.startswith("# Plan\n\n- Why\n\n  ") and "\n- How\n\n  " in text


def test_expand_without_an_outline_exits_2_before_loading_a_model(capsys, tmp_path):
    path = tmp_path / "code.py"
    path.write_text("def f():\n    return 1\n")
    code, out, err = run(capsys, "expand", path, "--model", tmp_path / "no-such-model")
    assert code == 2 and out == "" and "nothing to expand" in err
