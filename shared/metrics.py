"""Prometheus metrics every service exposes at /metrics."""

from prometheus_client import Counter, Gauge, Histogram

EVENTS_CONSUMED = Counter(
    "themenforum_events_consumed_total", "Events consumed, by outcome.", ["service", "type", "outcome"]
)
DEAD_LETTERS = Counter("themenforum_dead_letters_total", "Messages sent to the dead-letter topic.", ["service", "topic"])
HANDLER_SECONDS = Histogram(
    "themenforum_handler_seconds", "Time to handle one event.", ["service", "type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
CONSUMER_BATCH_EVENTS = Histogram(
    "themenforum_consumer_batch_events", "New events in one consumer poll (handled in one transaction unless one fails).",
    ["service"], buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
HTTP_REQUESTS = Counter("themenforum_http_requests_total", "HTTP requests.", ["service", "method", "route", "status"])
HTTP_SECONDS = Histogram(
    "themenforum_http_request_seconds", "HTTP request latency.", ["service", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
GC_PAUSE_SECONDS = Histogram(
    "themenforum_gc_pause_seconds", "Cyclic garbage collections, by generation: the event loop waits for each.",
    ["service", "generation"], buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
)
GC_FROZEN_OBJECTS = Gauge(
    "themenforum_gc_frozen_objects", "Objects the garbage collector no longer scans (what start-up allocated).", ["service"]
)
