"""Workload 4: the acceptance certificate of a 40-deliverable milestone, and a batch on both cores.

Ours: :func:`lifecycle.services.documents.issue_document` (``acceptance``, milestone ``M-ACC``) on
a project in SQLite: load the project, build the record, render the HTML (Jinja2), write PDF/A-3b
with the record attached (WeasyPrint), write the file atomically and register it (each timed call is a
re-issue, i.e. a new revision, since a plain repeat returns the registered document). Baseline, in the
same run: WeasyPrint alone writing a plain PDF from the identical HTML (same base URL, its default
fetcher, no PDF/A, no attachment). Target: at most 1.15x the baseline.

Then a batch of 200 certificates with both cores (fewer when 200 would take more than about a
minute: the note says how many): two worker processes, each with its own project and connection,
warm (one document rendered first), start together at a barrier; the figure is documents per
second over the whole batch, next to one core's rate (1 / median).
"""

from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path
from typing import Any

from bench import Bench, NotAvailable, interleaved, result

NUMBER = 4
TITLE = "acceptance certificate PDF"


def _title(deliverables: int) -> str:
    return f"acceptance certificate PDF, {deliverables}-deliverable milestone"


TARGET = "≤ 1.15× baseline; docs/s for 200 on 2 cores"
MAX_RATIO = 1.15
MILESTONE = "M-ACC"
BATCH_BUDGET_S = 60


def _context(root: Path) -> Any:
    from lifecycle.services.context import Context
    from lifecycle.storage.sql import SqlStore
    from lifecycle.workspace import Settings, Workspace

    return Context(Workspace(root, Settings()), SqlStore.open(f"sqlite:///{root / 'pmo.db'}"))


def _worker(root: str, code: str, count: int, barrier: Any, queue: Any) -> None:
    from lifecycle.services.documents import issue_document

    ctx = _context(Path(root))
    try:
        issue_document(ctx, code, "acceptance", milestone=MILESTONE)  # warm: imports, fonts, templates
        barrier.wait()
        t0 = time.perf_counter()
        wall0 = time.time()
        for _ in range(count):  # a document is issued once: each further issue is a new revision
            issue_document(ctx, code, "acceptance", milestone=MILESTONE, reissue=True)
        queue.put((wall0, wall0 + time.perf_counter() - t0, count, ""))
    except Exception as exc:  # report to the parent instead of hanging it at the barrier
        barrier.abort()
        queue.put((0.0, 0.0, 0, f"{type(exc).__name__}: {exc}"))
    finally:
        ctx.close()


def batch(root: Path, codes: list[str], total: int) -> dict[str, Any]:
    """Issue ``total`` documents with one process per code, all starting together; docs/s."""
    spawn = mp.get_context("spawn")
    barrier = spawn.Barrier(len(codes))
    queue = spawn.Queue()
    share = [total // len(codes) + (1 if i < total % len(codes) else 0) for i in range(len(codes))]
    procs = [
        spawn.Process(target=_worker, args=(str(root), code, n, barrier, queue))
        for code, n in zip(codes, share, strict=True)
    ]
    for p in procs:
        p.start()
    outs = [queue.get(timeout=1800) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    errors = [o[3] for o in outs if o[3]]
    if errors:
        raise RuntimeError("batch worker failed: " + "; ".join(errors))
    span = max(o[1] for o in outs) - min(o[0] for o in outs)
    done = sum(o[2] for o in outs)
    return {"documents": done, "processes": len(codes), "seconds": round(span, 2), "docs_per_s": round(done / span, 2)}


def run(b: Bench) -> dict[str, Any]:
    try:
        from lifecycle.documents.render import render_html, templates_dir
        from lifecycle.services.documents import issue_document
    except ModuleNotFoundError as exc:
        raise NotAvailable(f"{exc.name} has not landed") from exc
    from weasyprint import HTML

    from bench.generate import acceptance_project
    from lifecycle.domain.model import replace
    from lifecycle.storage.sql import SqlStore

    root = b.scratch("w4")
    store = SqlStore.open(f"sqlite:///{root / 'pmo.db'}", create=True)
    codes = ["ACC-A", "ACC-B"]
    try:
        for code in ["ACC-0", *codes]:
            p = acceptance_project(b.size.w4_deliverables, code=code)
            store.save(replace(p, version=0), expected_version=None)
    finally:
        store.close()

    ctx = _context(root)
    try:
        doc = issue_document(ctx, "ACC-0", "acceptance", milestone=MILESTONE)
        html = render_html(doc.record)
        base_url = templates_dir().resolve().as_uri() + "/"
        pages = None
        try:
            from pypdf import PdfReader

            pages = len(PdfReader(doc.path).pages)
        except Exception:  # page count is a nicety
            pages = None

        def ours() -> None:  # a new revision each time (a plain repeat would return the registered one)
            issue_document(ctx, "ACC-0", "acceptance", milestone=MILESTONE, reissue=True)

        def base() -> None:
            HTML(string=html, base_url=base_url).write_pdf()

        timed = interleaved({"ours": ours, "weasyprint": base}, repeat=b.size.w4_repeat, warmup=1)
    finally:
        ctx.close()
    measured, baseline = timed["ours"], timed["weasyprint"]
    ratio = measured["median"] / baseline["median"]
    b.log(f"w4 one document: ours {measured['median']:.3f}s weasyprint {baseline['median']:.3f}s")
    # the batch: 200 documents, or as many as both cores render in about BATCH_BUDGET_S
    total = max(2, min(b.size.w4_batch, int(BATCH_BUDGET_S * len(codes) / measured["median"])))
    bat = batch(root, codes, total)
    one_core = 1 / measured["median"]
    b.log(f"w4 batch: {bat['docs_per_s']} docs/s on {bat['processes']} processes")
    note = (
        f"{pages or '?'} pages; batch of {bat['documents']} on {bat['processes']} processes: "
        f"{bat['docs_per_s']} docs/s ({bat['docs_per_s'] / one_core:.2f}x one core's {one_core:.2f}/s)"
    )
    return result(
        NUMBER,
        _title(b.size.w4_deliverables),
        target=TARGET,
        measured=measured,
        baseline=baseline,
        baseline_label="WeasyPrint alone, same HTML",
        ratio=ratio,
        met=ratio <= MAX_RATIO,
        note=note,
        size={"deliverables": b.size.w4_deliverables, "batch": b.size.w4_batch},
        extra={
            "batch": bat,
            "one_core_docs_per_s": round(one_core, 2),
            "pages": pages,
            "html_bytes": len(html.encode()),
        },
    )
