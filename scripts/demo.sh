#!/usr/bin/env bash
# Start the API on http://127.0.0.1:8000 with a demo catalog and demo users.
#
# Creates .venv at the repository root when missing. Loads demo data into
# ./techcorp.db (or $TECHCORP_DATABASE_URL) unless it already has products.
# Serves with the bootstrap client your_id / your_secret, unless
# TECHCORP_BOOTSTRAP_CLIENT_ID and TECHCORP_BOOTSTRAP_CLIENT_SECRET are set.
# Extra arguments go to `techcorp-server serve`, for example --port 9000.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
ensure_server

# Demo credentials only; set your own for anything but a local trial.
export TECHCORP_BOOTSTRAP_CLIENT_ID="${TECHCORP_BOOTSTRAP_CLIENT_ID:-your_id}"
export TECHCORP_BOOTSTRAP_CLIENT_SECRET="${TECHCORP_BOOTSTRAP_CLIENT_SECRET:-your_secret}"

"$VENV/bin/techcorp-server" demo-data --if-empty
exec "$VENV/bin/techcorp-server" serve "$@"
