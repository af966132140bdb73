"""Prometheus metrics of one app (its own registry, never the global one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.autotask_requests = Counter(
            "backupchecks_autotask_requests",
            "Requests made to Autotask, by endpoint and outcome.",
            ["endpoint", "outcome"],
            registry=self.registry,
        )
        self.autotask_throttled = Counter(
            "backupchecks_autotask_throttled",
            "Autotask answers that throttled us (429 or thread limit).",
            registry=self.registry,
        )
        self.tickets_created = Counter(
            "backupchecks_tickets_created", "Autotask tickets created for runs.", registry=self.registry
        )
        self.tickets_resolved = Counter(
            "backupchecks_tickets_resolved", "Autotask tickets resolved from Backupchecks.", registry=self.registry
        )
        self.request_latency = Histogram(
            "backupchecks_http_request_duration_seconds",
            "HTTP request latency, by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )

    def autotask_request(self, endpoint: str, outcome: str) -> None:
        """The Autotask connector's `on_request` hook."""
        self.autotask_requests.labels(endpoint=endpoint, outcome=outcome).inc()
        if outcome == "throttled":
            self.autotask_throttled.inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
