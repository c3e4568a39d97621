"""Workload 1: evaluating the default rule pack's gates on one large project, facts already built.

The project: 5,000 tasks, 500 risks, 300 deliverables (``bench.generate``), its facts document built
once, untimed. Ours: for every gate of the default pack, what a gate check does after the facts are
built: :func:`lifecycle.expr.decide` (a fresh CEL context on the facts, every rule's
``when``/``check``/``evidence``, waivers, approvals, the facts hash). Baseline, in the same run: the
hand-written Python functions below, one per rule, checking the same criteria on the same facts
document and collecting the same evidence ids. Target: ours at most 2x the baseline.

The baseline is kept honest by comparing it with the engine before timing: every rule must give the
same outcome (pass / fail / not applicable) and the same evidence ids. A rule of the pack without a
hand-written counterpart, or a disagreement, is reported in the note (the pack changed: update
``HAND`` below) and the target is then not judged.

Also reported: where our time goes (building the CEL context, evaluating the rules, hashing the
facts), and a pyinstrument profile of the evaluation at the larger sizes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench import Bench, NotAvailable, default_pack, interleaved, result

NUMBER = 1
TITLE = "gate evaluation, default pack (facts built)"


def _title(tasks: int) -> str:
    return f"gate evaluation, default pack, {tasks:,} tasks (facts built)"


TARGET = "≤ 2× baseline"
MAX_RATIO = 2.0

Facts = Mapping[str, Any]
Outcome = tuple[str, list[str]]  # ("pass" | "fail" | "not_applicable", evidence ids)


# --------------------------------------------------------------------------- the hand-written baseline
def _ok(cond: bool, evidence: list[str] | None = None) -> Outcome:
    return ("pass", []) if cond else ("fail", evidence or [])


def _ids(items: Any) -> list[str]:
    return [i["id"] for i in items]


def _leaf_active(f: Facts) -> list[Mapping[str, Any]]:
    return [t for t in f["tasks"] if t["is_leaf"] and t["status"] != "cancelled"]


def _ini_07(f: Facts) -> Outcome:
    return _ok(any(m["kind"] == "kickoff" for m in f["meetings"]))


def _pln_04(f: Facts) -> Outcome:
    produced = {d for t in f["tasks"] for d in t["deliverables"]}
    missing = [d["id"] for d in f["deliverables"] if d["id"] not in produced]
    return _ok(not missing, missing)


def _pln_05(f: Facts) -> Outcome:
    bad = _ids(t for t in _leaf_active(f) if t["owner"] == "")
    return _ok(not bad, bad)


def _pln_06(f: Facts) -> Outcome:
    bad = _ids(t for t in _leaf_active(f) if not t["has_dates"])
    return _ok(not bad, bad)


def _pln_07(f: Facts) -> Outcome:
    p = f["project"]
    if p["start"] is None or p["finish"] is None:
        return ("not_applicable", [])
    late = _ids(t for t in f["tasks"] if t["finish"] is not None and t["finish"] > p["finish"])
    early = _ids(t for t in f["tasks"] if t["start"] is not None and t["start"] < p["start"])
    return _ok(not late and not early, late + early)


def _pln_10(f: Facts) -> Outcome:
    bad = _ids(t for t in _leaf_active(f) if not t["milestone"] and not t["assignees"])
    return _ok(not bad, bad)


def _pln_11(f: Facts) -> Outcome:
    bad = _ids(p for p in f["people"] if p["peak_units"] > 1.0)
    return _ok(not bad, bad)


def _pln_12(f: Facts) -> Outcome:
    bad = _ids(b for b in f["budget"] if b["task"] == "" and b["category"] != "contingency")
    return _ok(bool(f["budget"]) and not bad, bad)


def _pln_13(f: Facts) -> Outcome:
    m = f["metrics"]
    return _ok(m["approved_budget"] > 0.0 and m["budget_total"] <= m["approved_budget"])


def _pln_15(f: Facts) -> Outcome:
    no_strategy = _ids(r for r in f["risks"] if r["status"] == "open" and r["strategy"] == "")
    no_review = _ids(r for r in f["risks"] if r["status"] == "open" and r["review_date"] is None)
    return _ok(not no_strategy and not no_review, no_strategy + no_review)


def _pln_16(f: Facts) -> Outcome:
    high = [r for r in f["risks"] if r["status"] == "open" and r["score"] >= 15]
    no_plan = _ids(r for r in high if r["response_plan"] == "")
    no_owner = _ids(r for r in high if r["owner"] == "")
    return _ok(not no_plan and not no_owner, no_plan + no_owner)


def _pln_17(f: Facts) -> Outcome:
    drafts = _ids(r for r in f["requirements"] if r["priority"] == "must" and r["status"] == "draft")
    return _ok(bool(f["requirements"]) and not drafts, drafts)


def _pln_19(f: Facts) -> Outcome:
    bad = _ids(d for d in f["deliverables"] if not d["acceptance_criteria"])
    return _ok(not bad, bad)


def _status_recent(f: Facts) -> Outcome:
    days = f["metrics"]["days_since_status_report"]
    return _ok(0 <= days <= 14)


def _exe_02(f: Facts) -> Outcome:
    bad = _ids(t for t in f["tasks"] if t["status"] == "in_progress" and t["actual_start"] is None)
    return _ok(not bad, bad)


def _exe_04(f: Facts) -> Outcome:
    since = (date.fromisoformat(f["today"]) - timedelta(days=30)).isoformat()
    return _ok(any(m["kind"] in ("progress", "steering") and m["date"] >= since for m in f["meetings"]))


def _ctl_02(f: Facts) -> Outcome:
    m, p = f["metrics"], f["project"]
    if not m["budget_total"] > 0.0:
        return ("not_applicable", [])
    earned_budget = m["budget_total"] * m["progress_pct"] / 100.0
    return _ok(m["cost_actual"] <= earned_budget * (1.0 + p["cost_tolerance_pct"] / 100.0))


def _pending_changes(f: Facts) -> Outcome:
    return _ok(
        f["metrics"]["pending_change_requests"] == 0, _ids(c for c in f["change_requests"] if c["status"] == "proposed")
    )


def _blocking_issues(f: Facts) -> Outcome:
    return _ok(
        f["metrics"]["blocking_issue_count"] == 0, _ids(i for i in f["issues"] if i["blocking"] and i["is_open"])
    )


def _replan_approved(f: Facts) -> list[Mapping[str, Any]]:
    return [c for c in f["change_requests"] if c["replan"] and c["status"] == "approved"]


def _rpl_02(f: Facts) -> Outcome:
    ok = all(c["decided_by"] != "" and c["decided_on"] is not None for c in _replan_approved(f))
    return _ok(ok, _ids(c for c in _replan_approved(f) if c["decided_by"] == ""))


def _rpl_03(f: Facts) -> Outcome:
    return _ok(
        all(
            c["scope_impact"] != "" or c["schedule_impact_days"] != 0.0 or c["cost_impact"] != 0.0
            for c in _replan_approved(f)
        )
    )


def _cls_01(f: Facts) -> Outcome:
    bad = _ids(t for t in f["tasks"] if t["is_leaf"] and t["status"] not in ("done", "cancelled"))
    return _ok(not bad, bad)


def _cls_07(f: Facts) -> Outcome:
    m, p = f["metrics"], f["project"]
    if not m["budget_total"] > 0.0:
        return ("not_applicable", [])
    return _ok(m["cost_actual"] <= m["budget_total"] * (1.0 + p["cost_tolerance_pct"] / 100.0))


def _cld_02(f: Facts) -> Outcome:
    pending = _ids(h for h in f["handover_items"] if h["status"] == "pending")
    return _ok(bool(f["handover_items"]) and not pending, pending)


def _cld_06(f: Facts) -> Outcome:
    if not f["surveys"]:
        return ("not_applicable", [])
    low = _ids(s for s in f["surveys"] if s["csat"] is not None and s["csat"] < 3)
    return _ok(not low, low)


HAND: dict[str, Callable[[Facts], Outcome]] = {
    "INI-01": lambda f: _ok(bool(f["project"]["objectives"])),
    "INI-02": lambda f: _ok(f["project"]["sponsor"] != ""),
    "INI-03": lambda f: _ok(f["project"]["project_manager"] != ""),
    "INI-04": lambda f: _ok(f["project"]["client_representative"] != ""),
    "INI-05": lambda f: _ok(f["project"]["approved_budget"] > 0.0),
    "INI-06": lambda f: _ok(f["project"]["start"] is not None and f["project"]["finish"] is not None),
    "INI-07": _ini_07,
    "PLN-01": lambda f: _ok(bool(f["project"]["objectives"]) and bool(f["project"]["scope_in"])),
    "PLN-02": lambda f: _ok(bool(f["project"]["scope_out"])),
    "PLN-03": lambda f: _ok(bool(f["deliverables"])),
    "PLN-04": _pln_04,
    "PLN-05": _pln_05,
    "PLN-06": _pln_06,
    "PLN-07": _pln_07,
    "PLN-08": lambda f: _ok(bool(f["milestones"])),
    "PLN-09": lambda f: _ok(any(m["kind"] == "acceptance" for m in f["milestones"])),
    "PLN-10": _pln_10,
    "PLN-11": _pln_11,
    "PLN-12": _pln_12,
    "PLN-13": _pln_13,
    "PLN-14": lambda f: _ok(bool(f["risks"])),
    "PLN-15": _pln_15,
    "PLN-16": _pln_16,
    "PLN-17": _pln_17,
    "PLN-18": lambda f: _ok(bool(f["quality_standards"])),
    "PLN-19": _pln_19,
    "PLN-20": lambda f: _ok(f["project"]["acceptance_method"] != "" and bool(f["project"]["acceptance_team"])),
    "EXE-01": _status_recent,
    "EXE-02": _exe_02,
    "EXE-03": lambda f: _ok(not f["metrics"]["risks_past_review"], list(f["metrics"]["risks_past_review"])),
    "EXE-04": _exe_04,
    "CTL-01": lambda f: _ok(
        f["metrics"]["planned_progress_pct"] - f["metrics"]["progress_pct"] <= f["project"]["schedule_tolerance_pct"]
    ),
    "CTL-02": _ctl_02,
    "CTL-03": _status_recent,
    "CTL-04": _pending_changes,
    "CTL-05": lambda f: _ok(f["metrics"]["overdue_task_count"] == 0, list(f["metrics"]["overdue_tasks"])),
    "RPL-01": lambda f: _ok(bool(_replan_approved(f))),
    "RPL-02": _rpl_02,
    "RPL-03": _rpl_03,
    "CLS-01": _cls_01,
    "CLS-02": lambda f: _ok(
        all(d["accepted_with_evidence"] for d in f["deliverables"]),
        _ids(d for d in f["deliverables"] if not d["accepted_with_evidence"]),
    ),
    "CLS-03": lambda f: _ok(
        all(d["quality_checks_failed"] == 0 for d in f["deliverables"]),
        _ids(d for d in f["deliverables"] if d["quality_checks_failed"] > 0),
    ),
    "CLS-04": lambda f: _ok(
        all(d["quality_checks"] != 0 for d in f["deliverables"]),
        _ids(d for d in f["deliverables"] if d["quality_checks"] == 0),
    ),
    "CLS-05": _blocking_issues,
    "CLS-06": lambda f: _ok(any(s["scope"] == "project" for s in f["signoffs"])),
    "CLS-07": _cls_07,
    "CLS-08": _pending_changes,
    "CLS-09": lambda f: _ok(
        not any(a["status"] == "open" for a in f["improvement_actions"]),
        _ids(a for a in f["improvement_actions"] if a["status"] == "open"),
    ),
    "CLS-10": lambda f: _ok(
        all(d["criteria_failed"] == 0 for d in f["deliverables"]),
        _ids(d for d in f["deliverables"] if d["criteria_failed"] > 0),
    ),
    "CLD-01": lambda f: _ok(bool(f["lessons"])),
    "CLD-02": _cld_02,
    "CLD-03": lambda f: _ok(
        not any(h["file"] != "" and h["sha256"] == "" for h in f["handover_items"]),
        _ids(h for h in f["handover_items"] if h["file"] != "" and h["sha256"] == ""),
    ),
    "CLD-04": lambda f: _ok(
        not any(t["status"] == "planned" for t in f["training"]),
        _ids(t for t in f["training"] if t["status"] == "planned"),
    ),
    "CLD-05": lambda f: _ok(bool(f["surveys"])),
    "CLD-06": _cld_06,
    "CLD-07": lambda f: _ok(any(c["final"] for c in f["costs"])),
    "CLD-08": lambda f: _ok(f["metrics"]["open_issue_count"] == 0, _ids(i for i in f["issues"] if i["is_open"])),
    "CLD-09": lambda f: _ok(f["project"]["support_terms"] != "" and bool(f["project"]["support_contacts"])),
    "RES-01": _blocking_issues,
    "CAN-01": lambda f: _ok(bool(f["lessons"])),
}


def hand_decision(rule_ids: list[str], facts: Facts) -> dict[str, Outcome]:
    """The baseline for one gate: every rule's outcome and evidence, by hand-written Python."""
    return {rid: HAND[rid](facts) for rid in rule_ids}


# --------------------------------------------------------------------------- the workload
def gate_moves(pack: Any) -> list[tuple[str, Any, str, str]]:
    """(gate id, move, phase, phase before hold) for every gate of the pack that guards a transition."""
    out = []
    seen: set[str] = set()
    lc = pack.lifecycle
    active = lc.ids_of_kind("active")
    for t in lc.transitions:
        gate = pack.gates.get(t.gate_id)
        if gate is None or not gate.rules or t.gate_id in seen:
            continue
        sources = lc.expanded_sources(t)
        if not sources:
            continue
        source = sources[0]
        before = active[min(2, len(active) - 1)] if t.kind == "resume" else ""
        try:
            move = pack.machine.move(source, t.name, before)
        except Exception:  # a transition the machine cannot take from here: leave it out
            continue
        seen.add(t.gate_id)
        out.append((t.gate_id, move, source, before))
    return out


def _compare(engine: Any, hand: dict[str, Outcome], limit: int) -> list[str]:
    problems = []
    for r in engine.results:
        if r.id not in hand:
            continue
        h_outcome, h_ev = hand[r.id]
        if r.outcome != h_outcome:
            problems.append(f"{r.id}: engine {r.outcome}{' (' + r.error + ')' if r.error else ''}, hand {h_outcome}")
            continue
        e_ids = [e.id for e in r.evidence if e.id]
        want = list(dict.fromkeys(h_ev))[:limit]
        if r.outcome == "fail" and e_ids != want and set(e_ids) != set(want):
            problems.append(f"{r.id}: evidence differs ({len(e_ids)} ids vs {len(want)})")
    return problems


def run(b: Bench) -> dict[str, Any]:
    try:
        from lifecycle.domain.facts import build_facts, facts_hash
        from lifecycle.expr import EVIDENCE_LIMIT, CelEnv, decide, evaluate_rules
    except ModuleNotFoundError as exc:
        raise NotAvailable(f"{exc.name} has not landed") from exc
    pack = default_pack()
    gates = gate_moves(pack)
    if not gates:
        raise NotAvailable("the default rule pack has no gate rules yet")

    from bench.generate import TODAY
    from bench.w2_gate_cli import big_project

    project = big_project(b, phase="execution")
    facts = build_facts(project, TODAY)
    all_ids = [r.id for g in pack.gates.values() for r in g.rules]
    missing = [rid for rid in all_ids if rid not in HAND]
    plan = []  # (gate, move, project in the gate's source phase, rule ids)
    problems: list[str] = []
    for gate_id, move, phase, before in gates:
        p = replace(project, phase=phase, phase_before_hold=before)
        rule_ids = [r.id for r in pack.gates[gate_id].rules]
        engine = decide(pack, move, p, facts, TODAY)
        problems += _compare(engine, hand_decision([r for r in rule_ids if r in HAND], facts), EVIDENCE_LIMIT)
        plan.append((gate_id, move, p, rule_ids))

    def ours() -> None:
        for _gate, move, p, _rules in plan:
            decide(pack, move, p, facts, TODAY)

    def base() -> None:
        for _gate, _move, _p, rule_ids in plan:
            hand_decision([r for r in rule_ids if r in HAND], facts)

    timed = interleaved({"ours": ours, "hand": base}, repeat=b.size.repeat, warmup=1, budget_s=20)
    measured, baseline = timed["ours"], timed["hand"]

    # where our time goes, over all gates, built the way decide() builds them
    cel_s = rules_s = 0.0
    for gate_id, _move, _p, _rule_ids in plan:
        rules = pack.gates[gate_id].rules
        t0 = time.perf_counter()
        env = _gate_env(CelEnv, facts, rules)
        env.evaluate_text("true")  # the library converts the facts on the first evaluation
        t1 = time.perf_counter()
        evaluate_rules(rules, env, TODAY)
        t2 = time.perf_counter()
        cel_s, rules_s = cel_s + t1 - t0, rules_s + t2 - t1
    t0 = time.perf_counter()
    facts_hash(facts)
    hash_s = (time.perf_counter() - t0) * len(plan)
    breakdown = {
        "cel_context_s": round(cel_s, 4),
        "rules_s": round(rules_s, 4),
        "facts_hash_s": round(hash_s, 4),
        "gates": len(plan),
        "rules": sum(len(p[3]) for p in plan),
    }
    per_rule = []
    env = CelEnv(facts)  # every variable: any single rule can run in it
    env.evaluate_text("true")
    for gate_id, _move, _p, _rule_ids in plan:
        for rule in pack.gates[gate_id].rules:
            r0 = time.perf_counter()
            evaluate_rules((rule,), env, TODAY)
            r1 = time.perf_counter()
            if rule.id in HAND:
                HAND[rule.id](facts)
            r2 = time.perf_counter()
            per_rule.append(
                {"rule": rule.id, "ours_ms": round((r1 - r0) * 1000, 3), "hand_ms": round((r2 - r1) * 1000, 3)}
            )
    per_rule.sort(key=lambda r: -r["ours_ms"])

    extra: dict[str, Any] = {
        "breakdown": breakdown,
        "slowest_rules": per_rule[:10],
        "gates": [g[0] for g in plan],
        "disagreements": problems,
        "rules_without_baseline": missing,
    }
    if b.size.profile:
        extra.update(_profile(ours, b.workdir / "w1-profile.txt"))
    ratio = measured["median"] / baseline["median"]
    judged = not missing and not problems
    bd = breakdown
    note = (
        f"{bd['rules']} rules in {bd['gates']} gates; over all gates: CEL context {bd['cel_context_s'] * 1000:.0f}"
        f" ms, rules {bd['rules_s'] * 1000:.0f} ms, facts hash {bd['facts_hash_s'] * 1000:.0f} ms"
    )
    if missing:
        note += f"; NOT JUDGED: no hand-written baseline for {', '.join(missing)}"
    if problems:
        note += f"; NOT JUDGED: baseline disagrees with the engine: {'; '.join(problems[:5])}"
    s = b.size
    return result(
        NUMBER,
        _title(s.w1_tasks),
        target=TARGET,
        measured=measured,
        baseline=baseline,
        baseline_label="hand-written Python",
        ratio=ratio,
        met=(ratio <= MAX_RATIO) if judged else None,
        note=note,
        size={"tasks": s.w1_tasks, "risks": s.w1_risks, "deliverables": s.w1_deliverables},
        extra=extra,
    )


def _gate_env(cel_env: Any, facts: Facts, rules: Any) -> Any:
    """A CEL context as decide() makes it: only the variables the gate's rules read, where supported."""
    try:
        from lifecycle.expr import referenced_names

        return cel_env(facts, names=referenced_names(e for r in rules for e in (r.when, r.check, r.evidence)))
    except (ImportError, TypeError):
        return cel_env(facts)


def _profile(fn: Callable[[], Any], out: Path) -> dict[str, Any]:
    try:
        from pyinstrument import Profiler
    except ModuleNotFoundError:
        return {"profile_error": "pyinstrument is not installed (bench/requirements.txt)"}
    prof = Profiler(interval=0.001)
    prof.start()
    fn()
    prof.stop()
    out.write_text(prof.output_text(unicode=True, color=False), encoding="utf-8")
    return {"profile": str(out)}
