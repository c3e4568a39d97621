"""Workload 9: the web pages under load: the portfolio page and the gate page of a large project.

A workspace holds the generated portfolio of workload 3 (200 tasks a project) and one large project
(the 5,000-task project of workloads 1–2 at ``--size full``), a PMO admin user and a session. The
app of ``pmo serve`` runs in a child process (uvicorn, one process, on a free loopback port), warmed
up: the first portfolio request fills the row cache and starts the background gate sweep, which the
workload lets finish. Then 20 concurrent clients (threads with keep-alive connections) request, in
alternating rounds, the portfolio page, the large project's gate page, and two static HTML files of
the same sizes as those two pages served by the same server (``StaticFiles``): the baseline is what
that server needs just to push the same bytes. Reported: p50 and p95 latency of each, and the ratio
of the p95s. Target: p95 ≤ 3× the static page's.

The server keeps a rendered page while its service stamp (every project's version and audit head,
the rule pack, the date) holds, so the steady state measured here mostly serves kept pages; the note
also gives the time of a page rendered afresh (a URL not requested before), alone on the server.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench import ROOT, Bench, NotAvailable, env_for, result

NUMBER = 9
TITLE = "web pages under 20 concurrent clients: portfolio page and a large project's gate page"
TARGET = "p95 ≤ 3× a static page of the same size"
MAX_RATIO = 3.0
CLIENTS = 20
BIG = "BENCH-BIG"
ADMIN = "pmo-admin@bench.example"
# projects in the portfolio, tasks of the large project, requests per client per round
SHAPE = {"tiny": (60, 300, 3), "small": (1000, 1000, 5), "full": (1000, 5000, 5)}


def _workspace(b: Bench, n: int, big_tasks: int) -> tuple[Path, str]:
    """A workspace on a copy of the cached portfolio plus the large project; an admin's session token."""
    import shutil

    from bench.generate import generate_project
    from bench.w3_sweep import portfolio_db
    from lifecycle.services import identity
    from lifecycle.services.context import Context, open_workspace
    from lifecycle.storage.sql import SqlStore

    folder = b.scratch("w9")
    ws_dir = folder / ".pmo"
    ws_dir.mkdir()
    db = ws_dir / "pmo.db"
    shutil.copyfile(portfolio_db(b, n - 1, b.size.w3_tasks), db)
    (ws_dir / "settings.yaml").write_text("supplier: {name: Bench Supplier}\n", encoding="utf-8")
    store = SqlStore.open(f"sqlite:///{db}", create=True)
    try:
        big = generate_project(BIG, seed=5, tasks=big_tasks, risks=big_tasks // 10, deliverables=big_tasks // 16,
                               phase="planning")  # fmt: skip
        store.save(big, expected_version=None)
        ctx = Context(open_workspace(str(ws_dir)), store)
        identity.create_user(ctx, email=ADMIN, name="Bench Admin", global_roles=["pmo_admin"])
        principal = identity.principal_from_env(ctx, ADMIN)
        token = identity.start_session(ctx, principal).token
    finally:
        store.close()
    return ws_dir, token


def serve_child(ws_dir: str, static_dir: str, port: int) -> None:
    """The server process: the app of ``pmo serve`` plus the static baseline under /bench-static."""
    import uvicorn
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    from lifecycle.services.context import open_workspace
    from lifecycle.web.app import WebSettings, create_app

    extra = [Mount("/bench-static", app=StaticFiles(directory=static_dir))]
    app = create_app(WebSettings(open_workspace(ws_dir), extra_routes=extra))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _get(port: int, path: str, token: str) -> bytes:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Cookie": f"pmo_session={token}"})
    with urllib.request.urlopen(req, timeout=600) as resp:
        body: bytes = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{path}: HTTP {resp.status}")
        return body


def _wait_up(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited:\n" + log.read_text(errors="replace")[-3000:])
        try:
            _get(port, "/healthz", "")
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start:\n" + log.read_text(errors="replace")[-3000:])


def _warm(port: int, token: str, b: Bench) -> tuple[bytes, bytes, float]:
    """First requests (row cache, background sweep, gate decision); returns both pages and the wait."""
    t0 = time.perf_counter()
    page = _get(port, "/portfolio", token)
    while b'class="sweep"' in page:
        time.sleep(1)
        page = _get(port, "/portfolio", token)
    gate = _get(port, f"/projects/{BIG}/gate", token)
    took = time.perf_counter() - t0
    time.sleep(1.5)  # past the stamp's lifetime: the next requests render the pages the server keeps
    page = _get(port, "/portfolio", token)
    gate = _get(port, f"/projects/{BIG}/gate", token)
    return page, gate, took


def _client(port: int, path: str, token: str, count: int, out: list[float], errors: list[str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        for _ in range(count):
            t0 = time.perf_counter()
            conn.request("GET", path, headers={"Cookie": f"pmo_session={token}"})
            resp = conn.getresponse()
            resp.read()
            out.append(time.perf_counter() - t0)
            if resp.status != 200:
                errors.append(f"{path}: {resp.status}")
    finally:
        conn.close()


def _round(port: int, path: str, token: str, per_client: int) -> tuple[list[float], list[str]]:
    samples: list[float] = []
    errors: list[str] = []
    threads = [
        threading.Thread(target=_client, args=(port, path, token, per_client, samples, errors)) for _ in range(CLIENTS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return samples, errors


def _pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def _summary(samples: list[float]) -> dict[str, Any]:
    return {
        "median": statistics.median(samples),
        "p50": _pct(samples, 0.50),
        "p95": _pct(samples, 0.95),
        "min": min(samples),
        "max": max(samples),
        "runs": len(samples),
    }


def _measure(port: int, token: str, per_client: int, rounds: int) -> dict[str, dict[str, Any]]:
    paths = {
        "portfolio": "/portfolio",
        "portfolio_static": "/bench-static/portfolio.html",
        "gate": f"/projects/{BIG}/gate",
        "gate_static": "/bench-static/gate.html",
    }
    samples: dict[str, list[float]] = {k: [] for k in paths}
    errors: list[str] = []
    for _ in range(rounds):
        for name, path in paths.items():
            got, errs = _round(port, path, token, per_client)
            samples[name] += got
            errors += errs
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[:3]}")
    return {k: _summary(v) for k, v in samples.items()}


def run(b: Bench) -> dict[str, Any]:
    try:
        from lifecycle.services import identity
        from lifecycle.web import app

        del identity, app  # only whether they exist
    except ModuleNotFoundError as exc:
        raise NotAvailable(f"{exc.name} has not landed") from exc
    n, big_tasks, per_client = SHAPE.get(b.size.name, SHAPE["small"])
    b.log(f"w9: workspace with {n:,} projects (one of {big_tasks:,} tasks)")
    ws_dir, token = _workspace(b, n, big_tasks)
    static = ws_dir.parent / "static"
    static.mkdir()
    port = _free_port()
    log = ws_dir.parent / "server.log"
    env = env_for(ws_dir, PYTHONPATH=str(ROOT))
    code = f"from bench.w9_pages import serve_child; serve_child({str(ws_dir)!r}, {str(static)!r}, {port})"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_up(port, proc, log)
        page, gate, warm_s = _warm(port, token, b)
        (static / "portfolio.html").write_bytes(page)
        (static / "gate.html").write_bytes(gate)
        b.log(f"w9: warm after {warm_s:.1f}s; portfolio {len(page):,} B, gate {len(gate):,} B; measuring")
        stats = _measure(port, token, per_client, rounds=max(2, b.size.repeat // 2))
        cold = _cold(port, token)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    return _report(b, n, big_tasks, stats, len(page), len(gate), warm_s, page, cold)


def _cold(port: int, token: str) -> dict[str, float]:
    """One request of each page at a URL not seen before: a render without a kept page (alone)."""
    out = {}
    for name, path in (("portfolio", "/portfolio?sort=name"), ("gate", f"/projects/{BIG}/gate?cold=1")):
        t0 = time.perf_counter()
        _get(port, path, token)
        out[name] = round((time.perf_counter() - t0) * 1000, 1)
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _report(
    b: Bench, n: int, big_tasks: int, stats: dict[str, dict[str, Any]], page_b: int, gate_b: int, warm_s: float,
    page: bytes, cold: dict[str, float],
) -> dict[str, Any]:  # fmt: skip
    rows = page.count(b"<tr>") - 1
    ratios = {
        "portfolio": stats["portfolio"]["p95"] / stats["portfolio_static"]["p95"],
        "gate": stats["gate"]["p95"] / stats["gate_static"]["p95"],
    }
    worst = max(ratios, key=lambda k: ratios[k])
    ms = {k: {q: round(v[q] * 1000, 1) for q in ("p50", "p95")} for k, v in stats.items()}
    note = (
        f"p50/p95 ms: portfolio {ms['portfolio']['p50']}/{ms['portfolio']['p95']} vs static "
        f"{ms['portfolio_static']['p50']}/{ms['portfolio_static']['p95']} (×{ratios['portfolio']:.1f}); "
        f"gate {ms['gate']['p50']}/{ms['gate']['p95']} vs static {ms['gate_static']['p50']}/"
        f"{ms['gate_static']['p95']} (×{ratios['gate']:.1f}); pages {page_b // 1024} KiB and {gate_b // 1024} KiB; "
        f"first portfolio view with the sweep {warm_s:.1f} s; a page not kept yet (alone): portfolio "
        f"{cold['portfolio']:.0f} ms, gate {cold['gate']:.0f} ms"
    )
    title = (
        f"web pages, {CLIENTS} concurrent clients: portfolio of {n:,} projects ({rows:,} rows), "
        f"gate page of a {big_tasks:,}-task project"
    )
    return result(
        NUMBER,
        title,
        target=TARGET,
        measured={k: stats[worst][k] for k in ("median", "min", "max")} | {"runs": []},
        baseline={k: stats[f"{worst}_static"][k] for k in ("median", "min", "max")} | {"runs": []},
        baseline_label=f"static page of the same size ({worst})",
        ratio=ratios[worst],
        met=ratios[worst] <= MAX_RATIO,
        note=note,
        size={"projects": n, "big_project_tasks": big_tasks, "clients": CLIENTS},
        extra={"latency_ms": ms, "p95_ratios": {k: round(v, 2) for k, v in ratios.items()}, "cold_ms": cold},
    )


if __name__ == "__main__":  # pragma: no cover - manual check
    print(json.dumps(SHAPE))
    os._exit(0)
