timestep export ticket-42 --lang typescript -o ticket-42.json
