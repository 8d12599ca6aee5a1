timestep workers                  # live workers, running runs, queued segments
timestep workers --json | jq '.workers[] | select(.alive) | .executor_id'
