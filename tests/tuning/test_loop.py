"""The whole loop on a tiny budget, through the real gateway and the CLI, as a user runs it.

Teacher traffic (a local fake vendor that extracts tickets correctly) -> ledger -> feedback ->
dataset -> LoRA training, killed and resumed -> GGUF adapter -> registered and served beside
SmolLM2 by parity serve -> blind evaluation on the held-out split -> promotion.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml

from parity.tuning.examples import read_examples
from parity.tuning.ticket_example import TASK, generate, ticket_messages
from tests.conftest import GatewayFactory
from tests.fakes.ticket_teacher import TicketTeacher, example_config
from tests.servers import wait_for_rows
from tests.tuning.common import cli, ledger_counts

TINY = ("--steps", "4", "--save-every", "2", "--batch-size", "2", "--max-length", "192")


@pytest.fixture
def teacher() -> Iterator[TicketTeacher]:
    """The example's teacher on a real socket."""
    server = TicketTeacher()
    server.start()
    yield server
    server.stop()


def _serve_traffic(url: str, count: int) -> list[str]:
    ids = []
    with openai.OpenAI(base_url=url, api_key="x", max_retries=0) as client:
        for ticket, _ in generate(count, seed=7):
            raw = client.chat.completions.with_raw_response.create(
                model="parity/auto",
                messages=ticket_messages(ticket),  # type: ignore[arg-type]
                metadata={"task": TASK},
            )
            ids.append(str(raw.headers["x-parity-request-id"]))
    return ids


def _train(dataset: Path, out: Path, log: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "parity", "tune", "train", str(dataset), "--out", str(out),
               *TINY, "--threads", "2"]  # fmt: skip
    with log.open("wb") as sink:
        first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=sink)
        deadline = time.monotonic() + 1500
        while not (out / "checkpoint-2" / "trainer_state.json").is_file():
            assert first.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "no checkpoint within 1500 s"
            time.sleep(0.2)
        os.kill(first.pid, signal.SIGKILL)  # an interruption: no chance to clean up
        first.wait()
    assert not (out / "lineage.json").exists()
    done = cli(*command[3:], "--json", timeout=900)
    assert done.returncode == 0, done.stderr
    card: dict[str, Any] = json.loads(done.stdout)
    return card


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_the_loop_from_teacher_traffic_to_a_promoted_tuned_model(
    tmp_path: Path, teacher: TicketTeacher, gateway_factory: GatewayFactory
) -> None:
    gateway = gateway_factory(example_config(teacher.url, n_threads=1))
    config_path = gateway.home.parent / "parity.yaml"
    ids = _serve_traffic(gateway.v1, 30)
    wait_for_rows(gateway.ledger_url, set(ids))
    bad = httpx.post(f"{gateway.url}/v1/feedback", json={"request_id": ids[0], "good": False})
    assert bad.status_code == 201, bad.text
    right = generate(30, seed=7)[1][1]  # a reviewer's correction (here: the right answer)
    fixed = {"request_id": ids[1], "good": False, "correction": right}
    assert httpx.post(f"{gateway.url}/v1/feedback", json=fixed).status_code == 201
    gateway.stop()
    before = ledger_counts(gateway.ledger_url)

    dataset = tmp_path / "ds"
    done = cli("tune", "dataset", "--task", TASK, "--teacher", "teacher", "--out", str(dataset),
               "--config", str(config_path), "--tokenizer", "estimate", "--min-examples", "10",
               "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    manifest = json.loads(done.stdout)
    assert manifest["excluded"] == {"marked bad by feedback": 1}
    assert manifest["counts"]["corrected_by_feedback"] == 1

    run = tmp_path / "run"
    card = _train(dataset, run, tmp_path / "train.log")
    result = card["result"]
    assert result["resumed_from"] == 2 and result["steps"] == 4
    history = json.loads((run / "loss.json").read_text())
    assert [h["step"] for h in history] == [1, 2, 3, 4]  # the curve survives the kill
    assert history[-1]["loss"] < history[0]["loss"]  # the loss falls
    held = {e.key for e in read_examples(dataset / "heldout.jsonl")}
    train = {e.key for e in read_examples(dataset / "train.jsonl")}
    lineage = json.loads((run / "lineage.json").read_text())
    assert set(lineage["trained_prompts"]) == train and not held & train  # never saw held-out
    assert lineage["dataset"]["content_hash"] == manifest["content_hash"]
    assert lineage["teacher"] == "teacher" and lineage["dataset"]["task"] == TASK
    assert lineage["base"]["card"] == "smollm2-135m-instruct"
    assert lineage["licence"]["licence"] == "apache-2.0"
    assert lineage["training"]["seed"] == 0 and lineage["training"]["steps"] == 4

    done = cli("tune", "export", str(run), "--register", str(config_path), "--write", "--json")
    assert done.returncode == 0, done.stderr
    exported = json.loads(done.stdout)["export"]
    tuned = exported["deployment"]["id"]
    assert tuned == f"local/tuned-{TASK}" and exported["lora"].endswith(".gguf")
    config = yaml.safe_load(config_path.read_text())
    assert [m["id"] for m in config["models"]] == ["local/smollm2", "teacher", tuned]

    done = cli("tune", "evaluate", str(run), "--config", str(config_path), "--max-tokens", "48",
               "--out", str(tmp_path / "eval"), "--json", timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["models"] == {"base": "local/smollm2", "tuned": tuned, "teacher": "teacher"}
    assert summary["items"] == manifest["counts"]["heldout"]
    assert summary["scores"]["teacher"]["value"] == 1.0  # the fake teacher is always right
    assert summary["scores"]["base"]["low"] <= summary["scores"]["base"]["value"]
    assert "gap" in (tmp_path / "eval" / "tune-report.html").read_text()

    leaked = cli("tune", "evaluate", str(run), "--config", str(config_path),
                 "--heldout", str(dataset / "train.jsonl"))  # fmt: skip
    assert leaked.returncode == 2 and "was trained on" in leaked.stderr

    refused = cli("tune", "promote", str(run), "--config", str(config_path))
    gap = summary["gap_closed"]["value"]
    if gap is None or gap < 0.7:  # four steps rarely close the gap: the proof does not hold
        assert refused.returncode == 2 and "not promoting" in refused.stderr
    done = cli("tune", "promote", str(run), "--config", str(config_path), "--min-gap-closed",
               "0", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    promoted = json.loads(done.stdout)
    assert promoted["rule"]["then"]["cascade"] == [tuned, "teacher"]
    assert "json" in promoted["rule"]["then"]["validators"]
    assert promoted["economics"]["requests"] == 30 and promoted["economics"]["spent_usd"] > 0
    added = [line[1:] for line in promoted["diff"].splitlines() if line.startswith("+ ")]
    assert yaml.safe_load("\n".join(added)) == {"rules": [promoted["rule"]]}  # the rule, as YAML
    assert not promoted["written"] and yaml.safe_load(config_path.read_text()) == config
    done = cli("tune", "promote", str(run), "--config", str(config_path), "--min-gap-closed",
               "0", "--write")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert ledger_counts(gateway.ledger_url) == before  # tune only ever reads the ledger
    config = yaml.safe_load(config_path.read_text())
    assert config["routes"]["parity/auto"]["rules"] == [promoted["rule"]]

    served = gateway_factory(config)  # the tuned model beside SmolLM2, nothing downloaded
    health = httpx.get(f"{served.url}/readyz").json()
    assert health["models"][tuned] == "ok" and health["models"]["local/smollm2"] == "ok"
    ticket = ticket_messages(generate(1, seed=99)[0][0])
    with openai.OpenAI(base_url=served.v1, api_key="x", max_retries=0) as client:
        for model in (tuned, "local/smollm2"):
            reply = client.chat.completions.create(
                model=model, messages=ticket, max_tokens=24, temperature=0,  # type: ignore[arg-type]
            )  # fmt: skip
            assert reply.model == model and reply.choices[0].message.content
        routed = client.chat.completions.with_raw_response.create(
            model="parity/auto", messages=ticket, max_tokens=64, temperature=0,  # type: ignore[arg-type]
            metadata={"task": TASK},
        )  # fmt: skip
    assert "tuned-ticket-extract" in routed.headers["x-parity-route"]  # the promoted rule chose
    assert routed.headers["x-parity-model"] in (tuned, "teacher")  # the cascade answered
