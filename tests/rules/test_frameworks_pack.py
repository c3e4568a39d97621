"""The frameworks example pack (rules/frameworks): lints clean, its rule tests pass, every rule
states its source, and it uses params, custom fields, stages and phase history."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from lifecycle.cli.main import cli
from lifecycle.load.rulepack import load_pack
from lifecycle.load.ruletests import run_pack_tests

PACK = Path(__file__).resolve().parents[2] / "rules" / "frameworks"


def test_the_frameworks_pack_lints_and_tests_clean() -> None:
    pack = load_pack(PACK)
    assert pack.warnings == () and pack.languages == ("zh", "en")
    report = run_pack_tests(pack)
    assert report.ok, [r for r in report.results if not r.ok]
    assert len(report.results) >= 20
    res = CliRunner().invoke(cli, ["rules", "lint", str(PACK)])
    assert res.exit_code == 0 and "no problems" in res.output


def test_every_rule_states_its_source_and_the_pack_uses_the_new_facts() -> None:
    pack = load_pack(PACK)
    rules = pack.all_rules()
    assert all(r.source for r in rules)
    texts = " ".join(e.text for r in rules for e in (r.check, r.when, r.evidence) if e is not None)
    for used in ("params.", "custom.", "weighted_score(", "phase_entered", "phase_history", "'phase': phase"):
        assert used in texts, used
    kinds = {t.kind for t in pack.lifecycle.transitions}
    assert {"forward", "loop", "cancel", "hold", "resume"} <= kinds  # Go, Recycle, Kill, Hold
