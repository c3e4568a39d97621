"""Load-time checks of CEL: syntax errors with positions, unknown fields even where && / || hide them."""

from __future__ import annotations

import pytest

from lifecycle.expr import CelSyntax, CompiledExpr, ExprChecker, compile_expr, parse


@pytest.fixture(scope="module")
def checker():
    return ExprChecker()


def issues(checker, text, expect="any", bindings=()):
    compiled = compile_expr(text)
    assert isinstance(compiled, CompiledExpr), compiled
    return [i.message for i in checker.check(compiled, expect, bindings)]


def test_syntax_errors_carry_line_column_and_caret():
    err = compile_expr("tasks.all(t, t.owner != ''")
    assert isinstance(err, CelSyntax)
    assert (err.line, err.column) == (1, 27)
    assert "missing ')'" in err.message
    assert err.picture.splitlines()[1].index("^") == 4 + 26
    err2 = compile_expr("size(tasks) > 0 &&\n  tasks.all(t, t.owner != ''")
    assert isinstance(err2, CelSyntax) and err2.line == 2
    assert isinstance(compile_expr("   "), CelSyntax)


@pytest.mark.parametrize(
    "text, message",
    [
        ("tasks.all(t, t.ownr != '')", "unknown field 'ownr' in tasks[] (did you mean 'owner'?)"),
        ("tasks.all(t, t.owner != '' || t.ownr == '')", "unknown field 'ownr' in tasks[]"),
        ("tasks.exists(t, false && t.ownr == '')", "unknown field 'ownr' in tasks[]"),
        ("size(tasks) == 0 ? true : tasks[0].ownr == ''", "unknown field 'ownr' in tasks[]"),
        (
            "deliverables.all(d, d.acceptance_criteria.all(c, true || c.txt != ''))",
            "unknown field 'txt' in deliverables[].acceptance_criteria[] (did you mean 'text'?)",
        ),
        ("has(project.sponsr)", "unknown field 'sponsr' in project (did you mean 'sponsor'?)"),
        ("project['sponsr'] != ''", "unknown field 'sponsr' in project"),
        ("project.client.nmae != ''", "unknown field 'nmae' in project.client (did you mean 'name'?)"),
        ("metrics.progres_pct > 1.0", "unknown field 'progres_pct' in metrics (did you mean 'progress_pct'?)"),
        ("size(taks) > 0", "unknown name 'taks' (did you mean 'tasks'?)"),
        ("cnt('tasks') > 0", "unknown name 'cnt' (did you mean 'count'?)"),
        ("tasks.all(t, t.status == 'finished')", "'finished' is not a value of tasks[].status"),
        ("risks.exists(r, r.strategy in ['mitigate', 'ignore'])", "'ignore' is not a value of risks[].strategy"),
        ("count('tasks', {'status': 'finished'}) == 0", "'finished' is not a value of tasks[].status"),
        ("count('tasks', {'status in': ['done', 'closed']}) == 0", "'closed' is not a value of tasks[].status"),
        ("count('taks') == 0", "unknown collection 'taks' (did you mean 'tasks'?)"),
        ("count('tasks', {'stauts': 'done'}) == 0", "unknown field 'stauts' in tasks[] (did you mean 'status'?)"),
        ("count('tasks', {'finish <<': today}) == 0", "unknown operator '<<'"),
        ("sum_of('budget', 'category') > 0.0", "sum_of needs a number field; 'category' is enum"),
        ("size(unreferenced('deliverables', 'tasks', 'deliverable')) == 0", "unknown field 'deliverable' in tasks[]"),
        ("count('tasks', {'owner': ''}, 1) == 0", "count takes 1 or 2 argument(s), got 3"),
        ("metrics.progress_pct + 1 > 2.0", "no matching operator or function"),
        ("d.status == 'accepted'", "unknown name 'd'"),
    ],
)
def test_mistakes_are_found_at_load_time(checker, text, message):
    found = issues(checker, text)
    assert any(message in m for m in found), found
    assert len(found) == 1, found  # one mistake, one message


@pytest.mark.parametrize(
    "text",
    [
        "tasks.all(t, !t.is_leaf || t.owner != '')",
        "size(ids('tasks', {'is_leaf': true, 'owner empty': true})) == 0",
        "risks.all(r, r.status != 'open' || r.score < 15 || (r.response_plan != '' && r.owner != ''))",
        "project.start != null && project.finish != null && working_days(project.start, project.finish) > 0",
        "metrics.days_since_status_report >= 0 && metrics.days_since_status_report <= 14",
        "approvals.exists(a, a.role == 'sponsor' && a.decision == 'approve')",
        "tasks.map(t, t.id).size() >= 0",
        "count('meetings', {'kind in': ['progress', 'steering'], 'date >=': add_days(today, -30)}) >= 0",
        "r'raw\\d' != '' && b'x' != b'y' && 1u == 1u && 0x1F == 31 && 1e3 == 1000.0",
        "{'a': 1}.all(k, k == 'a') && [1, 2,][0] == 1",
    ],
)
def test_valid_expressions_pass(checker, text):
    assert issues(checker, text) == []


def test_quality_expressions_see_the_deliverable(checker):
    assert issues(checker, "d.acceptance_criteria.all(c, c.method != '')", "bool", ("d",)) == []
    found = issues(checker, "d.acceptance_criteria.all(c, c.txt != '')", "bool", ("d",))
    assert found == ["unknown field 'txt' in d.acceptance_criteria[] (did you mean 'text'?)"]


def test_result_types(checker):
    assert issues(checker, "size(tasks)", "bool") == ["must give true or false, but gives a whole number"]
    assert issues(checker, "count('tasks')", "list")[0].startswith("must give a list of ids")
    assert issues(checker, "ids('tasks')", "list") == []


def test_parser_reads_every_default_rule(default_pack):
    for rule in default_pack.all_rules():
        for expr in (rule.when, rule.check, rule.evidence):
            if expr is not None:
                assert expr.tree is not None, (rule.id, expr.text)


def test_parser_gives_up_quietly_on_what_it_does_not_know():
    assert parse("Foo{a: 1}") is None
    assert parse("tasks.all(t, t.owner != ''") is None
    assert parse("a.b[0].c(1, 'x') ? -1 : !true") is not None
