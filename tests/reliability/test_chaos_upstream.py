"""``parity chaos`` as a user meets it: an OpenAI-compatible server whose faults are on the wire."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.fakes.fixtures import VendorFake
from tests.reliability.chaos_proc import ChaosProcess, start_chaos
from tests.reliability.conftest import ChaosFactory

BODY = {"model": "gpt-chaos", "messages": [{"role": "user", "content": "hello there chaos"}]}


def post(url: str, body: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{url}/chat/completions", json=body or BODY, trust_env=False, **kwargs)


def sse_data(response: httpx.Response) -> list[str]:
    return [line[len("data: ") :] for line in response.text.splitlines() if line.startswith("data")]


def not_a_completion(text: str) -> bool:
    """JSON cut short, or JSON whose choices are not objects (the two malformed shapes)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return True
    return bool(data["choices"] == [None])


@pytest.fixture(scope="module")
def chaos_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosProcess]:
    flags = ("--hang-s", "0.5", "--drip-bytes", "64", "--drip-interval-s", "0.02")
    process = start_chaos(tmp_path_factory.mktemp("chaos"), *flags)
    yield process
    process.stop()


@pytest.fixture
def chaos(chaos_server: ChaosProcess) -> ChaosProcess:
    chaos_server.reset()
    return chaos_server


def test_echo_answers_like_openai_with_usage(chaos: ChaosProcess) -> None:
    client = openai.OpenAI(base_url=chaos.v1, api_key="unused", max_retries=0)
    answer = client.chat.completions.create(
        model="gpt-chaos", messages=[{"role": "user", "content": "hello there chaos"}]
    )
    assert answer.choices[0].message.content == "Echo: hello there chaos"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None
    assert answer.usage.prompt_tokens > 0 and answer.usage.completion_tokens > 0
    chunks = list(
        client.chat.completions.create(
            model="gpt-chaos",
            messages=[{"role": "user", "content": "hello there chaos"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: hello there chaos"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == answer.usage.completion_tokens
    assert [m.id for m in client.models.list()] == ["chaos-echo"]
    assert chaos.stats()["clean"] == 2 and chaos.stats()["injected_total"] == 0


def test_forced_faults_look_as_documented_on_the_wire(chaos: ChaosProcess) -> None:
    error = post(chaos.force("error"))
    assert error.status_code in (500, 502, 503)
    assert set(error.json()["error"]) == {"message", "type", "param", "code"}
    limited = post(chaos.force("rate_limit"))
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
    garbled = post(chaos.force("malformed_json"))
    assert garbled.status_code == 200
    assert garbled.headers["content-type"].startswith("application/json")
    assert not_a_completion(garbled.text)
    wrong_kind = post(chaos.force("malformed_sse"))
    assert wrong_kind.headers["content-type"].startswith("text/event-stream")
    with pytest.raises(httpx.TransportError):  # a reset, before or during the answer
        post(chaos.force("reset"))
    with pytest.raises(httpx.RemoteProtocolError):  # fewer bytes than content-length promised
        post(chaos.force("cut_stream"))
    with pytest.raises(httpx.ReadTimeout):  # the answer never comes
        post(chaos.force("timeout"), timeout=0.2)
    with httpx.stream(
        "POST", f"{chaos.force('drip')}/chat/completions", json=BODY, trust_env=False
    ) as dripped:
        pieces = list(dripped.iter_raw())
    assert len(pieces) >= 3  # 64 bytes at a time
    assert json.loads(b"".join(pieces))["choices"][0]["message"]["content"].startswith("Echo")
    injected = chaos.stats()["injected"]
    assert {k: v for k, v in injected.items() if v} == {
        "error": 1,
        "rate_limit": 1,
        "malformed_json": 1,
        "malformed_sse": 1,
        "reset": 1,
        "cut_stream": 1,
        "timeout": 1,
        "drip": 1,
    }


def test_stream_faults_strike_where_asked(chaos: ChaosProcess) -> None:
    stream = {**BODY, "stream": True}
    clean = sse_data(post(chaos.force("none"), stream))
    assert clean[-1] == "[DONE]"
    cut = sse_data(post(chaos.force("cut_stream@2"), stream))
    # two events, then a clean end: no finish_reason, no [DONE]
    assert [json.loads(e)["choices"] for e in cut] == [json.loads(e)["choices"] for e in clean[:2]]
    broken = sse_data(post(chaos.force("malformed_json@1"), stream))
    assert not not_a_completion(broken[0]) and not_a_completion(broken[1])
    merged = post(chaos.force("malformed_sse@0"), stream).text
    first_event = merged.split("\n\n")[0]
    assert first_event.count("data: ") == 2  # two events run together
    with pytest.raises(httpx.TransportError):
        post(chaos.force("reset@1"), stream)


def test_a_faults_file_with_a_seed_is_reproducible(
    tmp_path: Path, chaos_factory: ChaosFactory
) -> None:
    good = tmp_path / "faults.yaml"
    good.write_text("seed: 42\nerror_rate: 0.3\nerror_statuses: [503]\n")
    chaos = chaos_factory("--faults", str(good), "--rate-limit-rate", "0.3")

    def run() -> list[int]:
        with httpx.Client(trust_env=False) as client:
            url = f"{chaos.v1}/chat/completions"
            return [client.post(url, json=BODY).status_code for _ in range(20)]

    first = run()
    chaos.reset()
    assert run() == first
    assert set(first) == {200, 429, 503}
    stats = chaos.stats()
    assert stats["seed"] == 42 and stats["rates"]["error"] == 0.3
    assert stats["rates"]["rate_limit"] == 0.3  # the flag joins the file
    assert stats["injected"]["error"] == first.count(503) and stats["clean"] == first.count(200)


def test_a_bad_faults_file_is_one_line_on_stderr(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("error_rate: 0.7\ntimeout_rate: 0.7\n")
    done = subprocess.run(
        [sys.executable, "-m", "parity", "chaos", "--faults", str(bad), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("parity: error:") and "more than 1" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_proxy_mode_forwards_to_a_real_upstream(
    chaos_factory: ChaosFactory, vendor: VendorFake
) -> None:
    chaos = chaos_factory("--upstream", vendor.openai_url)
    key = {"authorization": "Bearer sk-user-12345678"}
    answer = post(chaos.force("none"), headers=key)
    assert answer.status_code == 200
    assert answer.json()["choices"][0]["message"]["content"] == "Echo: hello there chaos"
    [sent] = vendor.received()
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["authorization"] == "Bearer ***5678"  # forwarded (masked by the fake)
    failing = post(chaos.force("none"), {**BODY, "model": "rate-limit"}, headers=key)
    assert failing.status_code == 429 and failing.headers["retry-after"] == "1"
    assert chaos.stats()["upstream_errors"] == 1
    cut = sse_data(post(chaos.force("cut_stream@1"), {**BODY, "stream": True}, headers=key))
    assert len(cut) == 1 and cut[0] != "[DONE]"
