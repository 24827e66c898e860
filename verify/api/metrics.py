"""Prometheus metrics of the service.

With several uvicorn workers, ``wathiq serve`` sets ``PROMETHEUS_MULTIPROC_DIR``
before the workers start; each worker then writes its values to files there and
``/metrics`` merges the files of all workers, so every worker returns the same
totals.
Without it, the values are those of the one process.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ["ANSWER_TARGET_SECONDS", "Metrics"]

ANSWER_TARGET_SECONDS = 300.0
"""The service charter's target: a verification gets its response within 5 minutes."""

# Seconds. A QR text verification takes about a millisecond and a scan tens of
# milliseconds. The 300 s bucket is the charter's target.
_LATENCY_BUCKETS = (
    0.002,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
    300,
)


class Metrics:
    """The counters and histograms of one app, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.verifications = Counter(
            "wathiq_verifications",
            "Verifications answered, by verdict status and input kind.",
            ["status", "source"],
            registry=registry,
        )
        self.within_target = Counter(
            "wathiq_verifications_within_target",
            "Verifications answered within the charter's five-minute target.",
            ["source"],
            registry=registry,
        )
        self.verification_seconds = Histogram(
            "wathiq_verification_duration_seconds",
            "Time from receiving a verification request to its verdict.",
            ["source"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.requests = Counter(
            "wathiq_http_requests",
            "HTTP requests answered, by route template and status code.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "wathiq_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.rate_limited = Counter(
            "wathiq_rate_limited",
            "Requests answered 429, by rate-limit bucket.",
            ["bucket"],
            registry=registry,
        )
        self.decode_rejections = Counter(
            "wathiq_decode_rejections",
            "Uploads not decoded: timeout (abandoned) or busy (no free slot).",
            ["reason"],
            registry=registry,
        )
        self.staff_actions = Counter(
            "wathiq_staff_actions",
            "Staff requests by action and result.",
            ["action", "result"],
            registry=registry,
        )

        # Labelled children by label values: labels() takes a lock and builds a key
        # on every call, and these two run on every request.
        self._verification_children: dict[tuple[str, str], tuple[Any, Any, Any]] = {}
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe_verification(self, status: str, source: str, seconds: float) -> None:
        children = self._verification_children.get((status, source))
        if children is None:
            children = (
                self.verifications.labels(status=status, source=source),
                self.verification_seconds.labels(source=source),
                self.within_target.labels(source=source),
            )
            self._verification_children[(status, source)] = children
        count, latency, within = children
        count.inc()
        latency.observe(seconds)
        if seconds <= ANSWER_TARGET_SECONDS:
            within.inc()

    def observe_request(
        self, method: str, route: str, status: int, seconds: float
    ) -> None:
        """Count one HTTP answer; `route` is a route template, never a raw path."""
        children = self._request_children.get((method, route, status))
        if children is None:
            children = (
                self.requests.labels(method=method, route=route, status=status),
                self.request_seconds.labels(route=route),
            )
            self._request_children[(method, route, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """Return the exposition text of every worker and its content type."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            merged = CollectorRegistry()
            MultiProcessCollector(merged)
            families = list(merged.collect())
        else:
            families = list(self.registry.collect())
        return generate_latest(_Snapshot(families)), CONTENT_TYPE_LATEST


class _Snapshot:
    """Collected metric families plus the share answered within the target."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.families
        total = _sum(self.families, "wathiq_verifications_total")
        within = _sum(self.families, "wathiq_verifications_within_target_total")
        share = GaugeMetricFamily(
            "wathiq_verifications_within_target_ratio",
            "Share of verifications answered within the five-minute target"
            " (1 when none were answered yet).",
            value=within / total if total else 1.0,
        )
        yield share


def _sum(families: Iterable[Metric], sample_name: str) -> float:
    return sum(
        sample.value
        for family in families
        for sample in family.samples
        if sample.name == sample_name
    )
