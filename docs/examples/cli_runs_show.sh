timestep runs show ticket-42
timestep runs show tenant/ticket-7 --json | jq .final_output
