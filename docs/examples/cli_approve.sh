timestep approve ticket-42                       # the only undecided call
timestep run myapp.agents:support "Refund order 43" --run-id ticket-43
timestep approve ticket-43 call_43 --reason "receipt checked" --by alice
