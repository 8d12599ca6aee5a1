"""Offline test harness: scripted models, fake model servers on 127.0.0.1, a Postgres fixture."""
