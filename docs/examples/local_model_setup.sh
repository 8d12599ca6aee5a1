#!/usr/bin/env bash
python -m timestep.models.local setup  # once: builds llama-server, fetches the weights
python -m timestep.models.local status # prints the cache paths; exit code 0 when ready
