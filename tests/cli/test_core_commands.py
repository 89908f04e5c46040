"""The core commands as a user runs them: exit codes, one-line errors, --json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from parity.store.factory import open_ledger
from tests.store.test_ledger import T0, make_row


def parity(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parity", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_config_check_accepts_the_shipped_example() -> None:
    done = parity("config", "check", "examples/parity.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK" in done.stdout


def test_config_check_lists_every_error_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("server:\n  port: -4\nmodels:\n  - id: x\n    provider: nope\n")
    done = parity("config", "check", str(bad))
    assert done.returncode == 1
    lines = done.stdout.strip().splitlines()
    assert any(line.startswith(f"{bad}:2:") for line in lines)
    assert any(line.startswith(f"{bad}:5:") for line in lines)
    as_json = json.loads(parity("config", "check", str(bad), "--json").stdout)
    assert as_json["ok"] is False
    assert {e["line"] for e in as_json["errors"]} == {2, 5}


def test_serve_with_a_broken_config_fails_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: {}\n")
    done = parity("serve", "--config", str(bad))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"parity: error: {bad}:1:")


def test_serve_on_a_busy_port_fails_with_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        done = parity("serve", "--port", str(port))
    assert done.returncode == 2
    assert done.stderr.startswith("parity: error: cannot listen on 127.0.0.1")  # no "config:"
    assert done.stderr.count("\n") == 1


def test_unknown_options_are_a_usage_error() -> None:
    done = parity("logs", "--colour", "blue")
    assert done.returncode == 2
    assert "No such option" in done.stderr


def test_logs_and_usage_with_filters_and_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = open_ledger(url)
    ledger.record(
        [
            make_row(1, key_id="alice", cost_usd=0.5),
            make_row(2, key_id="bob", status=502, error_type="UpstreamServerError"),
            make_row(3, model_answered="gpt-4o", cost_usd=1.25),
        ]
    )
    ledger.close()
    rows = json.loads(parity("logs", "--ledger", url, "--json").stdout)
    assert [r["request_id"] for r in rows] == ["req_3", "req_2", "req_1"]
    errors = json.loads(parity("logs", "--ledger", url, "--errors", "--json").stdout)
    assert [r["request_id"] for r in errors] == ["req_2"]
    alice = json.loads(parity("logs", "--ledger", url, "--key", "alice", "--json").stdout)
    assert [r["request_id"] for r in alice] == ["req_1"]
    table = parity("logs", "--ledger", url)
    assert table.returncode == 0 and "req_3" in table.stdout
    usage = json.loads(parity("usage", "--ledger", url, "--since", "2025-01-01", "--json").stdout)
    by_model = {u["model"]: u for u in usage}
    assert by_model["gpt-4o"]["cost_usd"] == 1.25
    assert by_model["local/smollm2"]["requests"] == 2
    assert by_model["local/smollm2"]["errors"] == 1
    recent = json.loads(parity("usage", "--ledger", url, "--since", "1h", "--json").stdout)
    assert recent == []  # the rows are from T0, long ago
    assert T0 < 2e9


def test_bad_since_is_a_one_line_error(tmp_path: Path) -> None:
    done = parity("logs", "--ledger", f"sqlite:///{tmp_path / 'l.db'}", "--since", "last tuesday")
    assert done.returncode == 1
    assert done.stderr.strip().startswith("parity: error: --since must look like")


def test_an_unsupported_ledger_url_is_a_one_line_error() -> None:
    done = parity("logs", "--ledger", "mysql://x")
    assert done.returncode == 2
    assert "unsupported ledger URL" in done.stderr


def test_usage_counterfactual_compares_with_all_frontier_and_all_local(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = open_ledger(url)
    ledger.record(
        [
            make_row(1, key_id="a", route="parity/auto", input_tokens=1_000_000, output_tokens=0),
            make_row(2, key_id="a", route="parity/auto", input_tokens=0, output_tokens=100_000),
        ]
    )
    ledger.close()
    done = parity("usage", "--ledger", url, "--since", "2025-01-01", "--counterfactual", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    # no vendor deployment in the default config: GPT-4o at the $2.50/$10.00 of sources.md S1 per 1M
    assert data["frontier"] == {"model": "gpt-4o", "input": 2.5, "output": 10.0}
    [row] = data["rows"]
    assert (row["key_id"], row["route"], row["requests"]) == ("a", "parity/auto", 2)
    assert row["all_frontier_usd"] == 2.5 + 1.0
    assert row["all_local_usd"] == 0.0
