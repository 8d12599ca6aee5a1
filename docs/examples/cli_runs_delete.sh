timestep runs delete ticket-42-b ticket-42-from-js --yes
