"""The ``canvasedit serve`` command itself: the real process on the bundled model, its logs, its refusals."""

from __future__ import annotations

import json
import socket
import subprocess
import time

import pytest

from canvasedit.cli import main


def test_the_command_serves_the_bundled_model_and_logs_json(serve_process):
    proc = subprocess.run(["curl", "-sS", serve_process.url + "/v1/engine"], capture_output=True, text=True,
                          timeout=30, check=True)
    info = json.loads(proc.stdout)
    assert info["engine"] == "canvasedit" and info["model"] == "canvasedit-tiny" and info["sees_suffix"] is True
    assert serve_process.url.startswith("http://127.0.0.1:")
    deadline = time.monotonic() + 10  # the access line is written after the response has gone out
    while True:
        logs = serve_process.logs()  # every line on stderr is one JSON object
        if any(line.get("path") == "/v1/engine" and line.get("status") == 200 for line in logs):
            break
        assert time.monotonic() < deadline, f"no access line for /v1/engine in {logs[-5:]}"
        time.sleep(0.05)
    assert all({"time", "level", "message"} <= set(line) for line in logs)


@pytest.mark.parametrize("args, message", [
    (["--host", "0.0.0.0"], "needs an API key"),
    (["--api-key", " "], "must not be empty"),
    (["--max-tokens", "0"], "--max-tokens must be at least 1"),
    (["--port", "70000"], "--port must be in 0-65535"),
    (["--log-level", "loud"], "invalid choice"),
])
def test_settings_that_cannot_work_exit_2_with_one_line(capsys, monkeypatch, args, message):
    monkeypatch.delenv("CANVASEDIT_API_KEY", raising=False)
    assert main(["serve", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_a_port_in_use_and_a_missing_model_exit_2(capsys, tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    assert main(["serve", "--port", str(taken.getsockname()[1])]) == 2
    assert "cannot listen on 127.0.0.1" in capsys.readouterr().err
    taken.close()
    assert main(["serve", "--port", "0", "--model", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err.strip()
    assert "nothing" in err and len(err.splitlines()) == 1
