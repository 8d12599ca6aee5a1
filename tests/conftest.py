"""Shared pytest configuration: the offline harness fixtures live in tests/harness/."""

from agents import set_tracing_disabled

pytest_plugins = ["harness.fixtures", "harness.ts_durable"]

# Tests never export traces (there is no network); this also keeps their output clean.
set_tracing_disabled(True)
