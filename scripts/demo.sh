#!/usr/bin/env bash
# The main job on the embedded default: set up, then walk a sample client project from initiation to
# closed through the gates and flows, producing and sending the client documents.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/pmo demo "$@"
