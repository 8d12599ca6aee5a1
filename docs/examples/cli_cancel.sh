timestep run myapp.agents:support "Refund order 45" --run-id ticket-45
timestep cancel ticket-45 --by alice
