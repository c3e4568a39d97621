"""Lint catches what would change decisions silently (issue 14, finding 3 and 6): comparisons of
incompatible kinds, quoted numbers in where-maps, a missing language, a forward gate without rules."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from lifecycle.cli.main import cli
from lifecycle.errors import SpecError
from lifecycle.load.rulepack import load_pack
from tests.rules.helpers import DEFAULT_PACK


def _pack(tmp_path: Path) -> Path:
    pack = tmp_path / "p"
    shutil.copytree(DEFAULT_PACK, pack)
    return pack


def _edit(pack: Path, rel: str, old: str, new: str) -> None:
    path = pack / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _problems(pack: Path) -> list[str]:
    with pytest.raises(SpecError) as err:
        load_pack(pack)
    return [str(p) for p in err.value.problems]


@pytest.mark.parametrize(
    ("check", "words"),
    [
        ("metrics.overdue_task_count == '0'", "sets a number against a text (always false)"),
        ("phase != 3", "sets a text against a number (always true)"),
        ("metrics.progress_pct >= 'high'", "always an error"),
        ("tasks.all(t, t.milestone == 'yes')", "sets a bool against a text"),
        ("phase in ['closure', 1]", "never in the list"),
        ("count('tasks', {'percent_complete <': '50'}) == 0", "condition 'percent_complete <' compares"),
        ("count('tasks', {'milestone': 'true'}) == 0", "write the value as a bool"),
        ("count('risks', {'probability in': ['3', 4]}) == 0", "with '3' (a text)"),
        ("count('tasks', {'owner empty': 'yes'}) == 0", "needs true or false"),
    ],
)
def test_incompatible_kinds_are_lint_errors_with_file_line_and_path(tmp_path: Path, check: str, words: str) -> None:
    pack = _pack(tmp_path)
    _edit(pack, "gates/closure.yaml", "check: size(lessons) > 0", f'check: "{check}"')
    problems = _problems(pack)
    assert any(words in p and "closure.yaml:8 gates.closure_to_closed.rules[0].check" in p for p in problems), problems


@pytest.mark.parametrize(
    "check",
    [
        "metrics.overdue_task_count == 0",
        "metrics.progress_pct >= 50",  # int against double: CEL compares numbers across kinds
        "count('tasks', {'percent_complete <': 50.0, 'owner !=': ''}) == 0",
        "project.finish == null || project.finish < today",
    ],
)
def test_compatible_kinds_pass(tmp_path: Path, check: str) -> None:
    pack = _pack(tmp_path)
    _edit(pack, "gates/closure.yaml", "check: size(lessons) > 0", f'check: "{check}"')
    load_pack(pack)


def test_both_languages_are_enforced_where_the_pack_declares_two(tmp_path: Path) -> None:
    pack = _pack(tmp_path)
    assert load_pack(pack).languages == ("zh", "en")
    _edit(pack, "gates/closure.yaml", "title: {zh: 已记录经验教训, en: Lessons learned are recorded}", "title: Lessons")
    _edit(pack, "gates/closure.yaml", "          zh: 没有记录经验教训。\n", "")
    problems = _problems(pack)
    assert any("rules[0].title: the pack declares languages zh, en" in p for p in problems), problems
    assert any("rules[0].message: missing the zh text" in p for p in problems), problems
    _edit(pack, "lifecycle.yaml", "languages: [zh, en]", "languages: [en]")
    load_pack(pack)  # one language declared: a plain text is fine


def test_a_forward_transition_without_rules_is_a_warning(tmp_path: Path) -> None:
    pack = _pack(tmp_path)
    gates = pack / "gates" / "initiation.yaml"
    text = gates.read_text(encoding="utf-8")
    gates.write_text(text[: text.index("    rules:")] + "    rules: []\n", encoding="utf-8")
    (pack / "tests" / "initiation.yaml").unlink()
    loaded = load_pack(pack)
    assert loaded.warnings == (
        f"{pack}/lifecycle.yaml: forward transition 'initiation_to_planning' has no rules "
        "(gate 'initiation_to_planning'): it always passes",
    )
    result = CliRunner().invoke(cli, ["rules", "lint", str(pack)])
    assert (
        result.exit_code == 0
        and "warning: " in result.output
        and "initiation_to_planning' has no rules" in (result.output.replace("\n", ""))
    )
    assert load_pack(DEFAULT_PACK).warnings == ()
