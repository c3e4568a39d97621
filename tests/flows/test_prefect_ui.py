"""The Prefect UI shows what a flow published: a real Prefect server on 127.0.0.1 serving its UI, a gate
review flow run against it by ``pmo flow run``, and Debian's Chromium opening the run's artifacts tab.

The UI reads the API at ``PREFECT_UI_API_URL`` (the server's own address here, as the README's server
mode says). The test waits until the artifact's page shows our markdown (the project code, the gate's
decision, a rule and the flow run's name) and takes a screenshot; ``PMO_KEEP_SCREENSHOTS=1`` copies it to
``docs/screenshots/prefect-artifacts.png`` for the README, as the other browser tests do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from lifecycle.domain.model import replace
from tests.flows.conftest import sample_project
from tests.flows.test_prefect_server import _get_json, server_env, start_server, started
from tests.web.browser import chromium, have_browser, shot

pytestmark = [
    pytest.mark.prefect,
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not have_browser(), reason="needs Debian's chromium and chromedriver"),
]

KEEP = os.environ.get("PMO_KEEP_SCREENSHOTS") == "1"
__all__ = ["server_env", "started"]  # fixtures of the server test, used here


def _page_text(driver: Any) -> str:
    return str(driver.execute_script("return document.body ? document.body.innerText : ''"))


def test_the_prefect_ui_shows_the_gate_review_artifact(make_workspace, inbox, tmp_path, server_env, started):
    # in control, the gate towards closure has rules: the artifact lists them with their verdicts
    ws = make_workspace(smtp=inbox.settings(), project=replace(sample_project(tmp_path / "files"), phase="control"))
    api = server_env["PREFECT_API_URL"]
    env = {**server_env, "PMO_WORKSPACE": str(ws), "PREFECT_UI_API_URL": api}
    start_server(env, tmp_path, [tmp_path / "server.log"], started)

    ran = subprocess.run(
        [sys.executable, "-m", "lifecycle.cli.main", "flow", "run", "gate_review", "-p", "project=DEMO-1", "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    result = json.loads(ran.stdout[ran.stdout.index("{") :])
    decision = str(result["decision"])
    runs = _get_json(f"{api}/flow_runs/filter", {"flows": {"name": {"any_": ["gate-review"]}}})
    assert len(runs) == 1 and runs[0]["state_type"] == "COMPLETED", runs
    run = runs[0]
    found = _get_json(f"{api}/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [run["id"]]}}})
    assert "gate-demo-1" in {a["key"] for a in found}

    gate = next(a for a in found if a["key"] == "gate-demo-1")
    ui = api.removesuffix("/api")
    with chromium(width=1600, height=900) as driver:
        driver.get(f"{ui}/artifacts/artifact/{gate['id']}")  # the artifact page renders its markdown
        wanted = ("Gate review DEMO-1: control → closure", f"Decision: {decision}", "T-LESSONS", "gate-review/DEMO-1")
        deadline = time.monotonic() + 60
        text = ""
        while time.monotonic() < deadline:
            text = _page_text(driver)
            if all(w in text for w in wanted):
                break
            time.sleep(0.5)
        missing = [w for w in wanted if w not in text]
        assert not missing, f"the UI never showed {missing}; page text:\n{text[:3000]}"
        time.sleep(1)  # the markdown's table finishes its layout
        path = shot(driver, tmp_path, "prefect-artifacts", keep=KEEP, width=1600)
    assert path.stat().st_size > 20_000  # a rendered page, not a blank one
    assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
