timestep runs list --status waiting
timestep runs list --agent support --since 2h --limit 20 --offset 20
timestep runs list --watch                 # redrawn live; until Ctrl+C
timestep runs list --json | jq '.[].run_id'
