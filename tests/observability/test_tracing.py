"""OpenTelemetry spans through a real gateway process, received by an OTLP/HTTP server here.

The receiver decodes what the gateway's exporter sends (protobuf, as a collector would) and the
fake vendor records the headers it got, so the W3C traceparent can be followed from the
client, through the request span and the attempt span, to the upstream.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import openai
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.fixtures import VendorFake
from tests.observability.scrape import scrape, value
from tests.servers import free_port

trace_service = pytest.importorskip(
    "opentelemetry.proto.collector.trace.v1.trace_service_pb2", reason="needs parity[otel]"
)

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
CLIENT_SPAN = "b7ad6b7169203331"


class Receiver:
    """An OTLP/HTTP traces endpoint: every span it was sent, with its attributes decoded."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        received = self.spans

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                message = trace_service.ExportTraceServiceRequest()
                message.ParseFromString(body)
                for resource in message.resource_spans:
                    for scope in resource.scope_spans:
                        received.extend(_span(s) for s in scope.spans)
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.end_headers()
                self.wfile.write(trace_service.ExportTraceServiceResponse().SerializeToString())

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1/traces"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.spans) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.spans)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _span(span: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for kv in span.attributes:
        kind = kv.value.WhichOneof("value")
        raw = getattr(kv.value, kind)
        if kind == "array_value":
            raw = [getattr(v, v.WhichOneof("value")) for v in raw.values]
        attributes[kv.key] = raw
    return {
        "name": span.name,
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "parent": span.parent_span_id.hex(),
        "kind": span.kind,
        "status": span.status.code,
        "attributes": attributes,
    }


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def _model(vendor: VendorFake, model_id: str, upstream: str) -> dict[str, Any]:
    return {
        "id": model_id,
        "provider": "openai",
        "base_url": vendor.openai_url,
        "api_key_env": "FAKE_KEY",
        "upstream_model": upstream,
        "residency": "on_prem",
        "price": {"input": 1.0, "output": 2.0},
    }


def test_spans_follow_the_genai_conventions_and_the_traceparent_reaches_the_upstream(
    vendor: VendorFake, gateway_factory: GatewayFactory, receiver: Receiver
) -> None:
    config: dict[str, Any] = {
        "models": [
            _model(vendor, "down", "error-500"),
            _model(vendor, "up", "echo-model"),
            _model(vendor, "empty", "empty"),
        ],
        "routes": {
            "parity/auto": {"default": {"route": "down", "fallbacks": ["up"]}},
            "careful": {"default": {"cascade": ["empty", "up"], "validators": ["not_empty"]}},
        },
        "retry": {"attempts": 1},
        "tracing": {"enabled": True, "endpoint": receiver.url},
    }
    gw = gateway_factory(config, env={"FAKE_KEY": "sk-test"})
    client = openai.OpenAI(base_url=gw.v1, api_key="unused", max_retries=0)
    parent = {"traceparent": f"00-{TRACE_ID}-{CLIENT_SPAN}-01"}
    answer = client.chat.completions.with_raw_response.create(
        model="parity/auto",
        messages=[{"role": "user", "content": "Hello"}],
        max_tokens=9,
        extra_headers=parent,
    )
    assert answer.status_code == 200
    spans = receiver.wait(3)
    by_name = {s["name"]: s for s in spans}
    request = by_name["chat parity/auto"]
    assert request["trace_id"] == TRACE_ID and request["parent"] == CLIENT_SPAN
    assert request["kind"] == 2  # SERVER
    attrs = request["attributes"]
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.request.model"] == "parity/auto"
    assert attrs["gen_ai.response.model"] == "up"
    assert attrs["gen_ai.usage.input_tokens"] > 0 and attrs["gen_ai.usage.output_tokens"] > 0
    assert attrs["parity.request_id"] == answer.headers["x-parity-request-id"]

    attempts = [s for s in spans if s["parent"] == request["span_id"] and s["kind"] == 3]
    assert [a["attributes"]["gen_ai.request.model"] for a in attempts] == [
        "error-500",
        "echo-model",
    ]
    failed, ok = attempts
    assert failed["attributes"]["error.type"] == "UpstreamServerError" and failed["status"] == 2
    assert ok["attributes"]["gen_ai.provider.name"] == "openai"
    assert ok["attributes"]["gen_ai.request.max_tokens"] == 9
    assert ok["attributes"]["gen_ai.response.finish_reasons"] == ["stop"]
    assert ok["attributes"]["gen_ai.usage.output_tokens"] > 0
    assert ok["attributes"]["server.address"] == "127.0.0.1"

    # The upstream saw each attempt's own span as its parent, in the client's trace.
    sent = [r["headers"].get("traceparent") for r in vendor.received() if "chat" in r["path"]]
    assert sent == [f"00-{TRACE_ID}-{a['span_id']}-01" for a in attempts]

    stream = client.chat.completions.create(
        model="careful", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    spans = receiver.wait(len(spans) + 5)
    steps = [s for s in spans if s["name"].startswith("cascade_step ")]
    assert [s["attributes"]["parity.cascade.escalated"] for s in steps] == [True, False]
    assert steps[0]["attributes"]["parity.cascade.failed"] == ["not_empty"]
    careful = next(s for s in spans if s["name"] == "chat careful")
    assert careful["attributes"]["parity.stream"] is True
    assert all(s["trace_id"] == careful["trace_id"] for s in steps)
    assert value(scrape(gw.url), "parity_tracing_spans_total", outcome="exported") >= len(spans)


def test_a_collector_that_is_down_never_slows_or_fails_a_request(
    vendor: VendorFake, gateway_factory: GatewayFactory
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/v1/traces"
    config = {
        "models": [_model(vendor, "up", "echo-model")],
        "tracing": {"enabled": True, "endpoint": nobody, "timeout_s": 0.5, "max_queue": 4},
    }
    gw = gateway_factory(config, env={"FAKE_KEY": "sk-test"})
    client = openai.OpenAI(base_url=gw.v1, api_key="unused", max_retries=0)
    started = time.monotonic()
    for _ in range(20):
        reply = client.chat.completions.create(
            model="up", messages=[{"role": "user", "content": "Hello"}]
        )
        assert reply.choices[0].message.content
    assert time.monotonic() - started < 10
    deadline = time.monotonic() + 10
    dropped = 0.0
    while time.monotonic() < deadline and dropped < 40:  # 2 spans a request
        dropped = value(scrape(gw.url), "parity_tracing_spans_total", outcome="dropped")
        time.sleep(0.2)
    assert dropped == 40
    assert "the OTLP collector took no spans" in gw.output()


def test_each_guard_verdict_is_a_span_of_the_request(
    vendor: VendorFake, guard: VendorFake, gateway_factory: GatewayFactory, receiver: Receiver
) -> None:
    guard_model = {**_model(vendor, "llama-guard", "llama-guard3:1b"), "base_url": guard.openai_url}
    config = {
        "models": [_model(vendor, "up", "echo-model"), guard_model],
        "guards": {"llama": {"deployment": "llama-guard", "format": "llama_guard"}},
        "routes": {"guarded": {"default": "up", "guard": {"guard": "llama", "check": "both"}}},
        "tracing": {"enabled": True, "endpoint": receiver.url},
    }
    gw = gateway_factory(config, env={"FAKE_KEY": "sk-test"})
    client = openai.OpenAI(base_url=gw.v1, api_key="unused", max_retries=0)
    client.chat.completions.create(model="guarded", messages=[{"role": "user", "content": "Hi"}])
    spans = receiver.wait(4)
    request = next(s for s in spans if s["name"] == "chat guarded")
    guards = [s for s in spans if s["name"] == "guard llama"]
    assert sorted(g["attributes"]["parity.guard.stage"] for g in guards) == ["input", "output"]
    assert all(g["parent"] == request["span_id"] for g in guards)
    assert {g["attributes"]["parity.guard.verdict"] for g in guards} == {"safe"}
