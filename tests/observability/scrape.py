"""Read a gateway's /metrics the way Prometheus does, and wait for counters to move."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["Samples", "scrape", "value", "wait_until"]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str, headers: dict[str, str] | None = None) -> Samples:
    """Every sample of ``url``/metrics, keyed by (sample name, labels)."""
    response = httpx.get(f"{url}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the series does not exist yet."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def wait_until(url: str, done: Callable[[Samples], bool], timeout: float = 5) -> Samples:
    """Scrape until ``done`` holds (a request is counted just after its answer is sent)."""
    deadline = time.monotonic() + timeout
    samples = scrape(url)
    while not done(samples):
        if time.monotonic() > deadline:
            return samples
        time.sleep(0.05)
        samples = scrape(url)
    return samples
