"""Loading one rule pack from many threads at the same moment, from a cold start.

The CEL library is loaded on first use (``lifecycle.expr.library.cel_module``). Without a lock, two
threads compiling their first expressions together either saw the half-initialised module (the pack
then "had N problems": ``module ... has no attribute 'compile'``) or initialised it twice (a panic of
the library). The cold start happens once per process, so each round is a fresh interpreter in which
eight threads wait at a barrier and then load the same pack.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "tests" / "rules" / "data" / "mini_pack"
ROUNDS = 8  # before the lock, most rounds failed (5 of 6 on a two-core machine)

_ROUND = """
import json, sys, threading
from lifecycle.load.rulepack import load_pack

barrier = threading.Barrier(8)
errors, hashes = [], set()

def load():
    barrier.wait()
    try:
        hashes.add(load_pack(sys.argv[1]).hash)
    except BaseException as exc:  # the library's panic is a BaseException
        errors.append(f"{type(exc).__name__}: {exc}"[:300])

threads = [threading.Thread(target=load) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps({"errors": errors, "hashes": sorted(hashes)}))
"""


def test_eight_threads_load_a_pack_at_once_from_a_cold_start() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for n in range(ROUNDS):
        done = subprocess.run(
            [sys.executable, "-c", _ROUND, str(PACK)], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-2000:]
        report = json.loads(done.stdout.strip().splitlines()[-1])
        assert report["errors"] == [], f"round {n + 1}: {report['errors']}"
        assert len(report["hashes"]) == 1  # every thread got the same pack
