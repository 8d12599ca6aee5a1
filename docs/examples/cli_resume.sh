timestep resume ticket-42 --agent myapp.agents:support   # run the next segment here
timestep resume ticket-44                                # or queue it for a worker
