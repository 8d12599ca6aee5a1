"""Pytest fixtures of the offline harness (registered from tests/conftest.py)."""
