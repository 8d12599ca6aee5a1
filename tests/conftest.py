"""Shared pytest configuration: the offline harness fixtures live in tests/harness/."""

pytest_plugins = ["harness.fixtures"]
