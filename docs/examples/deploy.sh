#!/usr/bin/env bash
# The deployment recipe's commands (docs: Deployment). Sections are shown on the page.
set -euo pipefail

# --8<-- [start:compose]
export TIMESTEP_IMAGE=myapp:latest
TIMESTEP_INBOX_TOKEN=$(python -c "import secrets; print(secrets.token_urlsafe(32))")
export TIMESTEP_INBOX_TOKEN
docker compose -f deploy/compose.yaml up --scale worker=3
# --8<-- [end:compose]

# --8<-- [start:systemd]
sudo cp deploy/systemd/*.service /etc/systemd/system/
sudo systemctl enable --now timestep-migrate timestep-inbox timestep-worker@{1..4}
# --8<-- [end:systemd]
