timestep runs show ticket-42          # lists the durable steps with their ids
timestep fork ticket-42 --at 3        # a new run: earlier steps replay, step 3 on runs again
timestep fork ticket-42 --from-version 1 --new-run-id ticket-42-b
