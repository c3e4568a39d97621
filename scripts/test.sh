#!/usr/bin/env bash
# The whole test suite on a fresh machine: set-up, lint, type check, tests (SQLite, a PostgreSQL
# cluster the tests start on 127.0.0.1, a Prefect server and worker, real PDFs and SMTP), and the
# benchmark suite at a tiny size as a smoke test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false
echo "== ruff"; .venv/bin/ruff check lifecycle flows tests bench; .venv/bin/ruff format --check lifecycle flows tests bench
echo "== mypy"; .venv/bin/mypy
echo "== pytest"; .venv/bin/python -m pytest -n 2 -q "$@"
if [ -f bench/__main__.py ]; then echo "== benchmark smoke"; .venv/bin/python -m bench --size tiny --output /tmp/pmo-bench-smoke.json; fi
