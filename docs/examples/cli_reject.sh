timestep run myapp.agents:support "Refund order 44" --run-id ticket-44
timestep reject ticket-44 --reason 'refunds over $50 need a manager'
