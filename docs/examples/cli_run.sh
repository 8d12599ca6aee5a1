timestep run myapp.agents:support "Refund order 42" --run-id ticket-42
timestep run myapp.agents:support "Where is order 7?" --run-id tenant/ticket-7 --stream   # tokens as they arrive
