timestep runs prune --older-than 30d --dry-run      # what would go
timestep runs prune --older-than 30d --yes          # done, failed and cancelled runs
timestep runs prune --older-than 7d --status failed --yes
