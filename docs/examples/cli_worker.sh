timestep worker --agent myapp.agents:support --concurrency 8    # until Ctrl+C
