#!/usr/bin/env bash
# The approval flow from the shell. AGENT names a Python agent as module:attribute (an Agent, or
# a function returning one); docs/examples/first_approval.py defines build_agent.
set -euo pipefail
export TIMESTEP_DB=sqlite:///timestep.db
AGENT=${AGENT:-first_approval:build_agent}

timestep run "$AGENT" "Refund \$25 on order 42, it arrived broken." --run-id ticket-42
timestep approve ticket-42 --by alice
timestep resume ticket-42 --agent "$AGENT"
timestep runs show ticket-42
timestep export ticket-42 --lang typescript -o ticket-42.typescript.json
