#!/usr/bin/env bash
# From a clone of the repository, on a machine with Python 3.11:
make demo # creates .venv/, installs timestep, runs the approval demo (offline)
make test # ruff, mypy --strict, the TypeScript package, the local model, pytest

# Or into an existing virtual environment (the `dev` extra adds the test tools):
python -m pip install -e '.[dev]'
timestep --help
