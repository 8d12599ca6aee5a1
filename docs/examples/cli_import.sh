timestep import ticket-42.json --run-id ticket-42-from-js
