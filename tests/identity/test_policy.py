"""The permission table and the project roles derived from a project file (pure, no storage)."""

from __future__ import annotations

import pytest

from lifecycle.domain import policy
from lifecycle.domain.model import Contact, Person, replace
from lifecycle.errors import Forbidden
from tests.factory import small_project


def _principal(email: str, *roles: str, method: str = "password") -> policy.Principal:
    return policy.Principal("u-" + email.split("@")[0], email, email.split("@")[0], "en", frozenset(roles), method)


def _project() -> object:
    p = small_project()
    contacts = tuple(
        replace(c, email={"c-spon": "dana@client.example", "c-rep": "Rob@Client.example"}.get(c.id, c.email))
        for c in p.contacts
    ) + (Contact(id="c-steer", name="Sam Steer", role="steering", email="sam@client.example"),)
    people = tuple(
        replace(x, email={"p-pm": "pat@us.example", "p-dev": "dev@us.example"}.get(x.id, x.email)) for x in p.people
    )
    return replace(p, contacts=contacts, people=people)


def test_project_roles_follow_the_charter_and_roles_by_email_case_insensitive() -> None:
    p = _project()
    assert policy.project_roles(p, _principal("dana@client.example")) == {"sponsor"}
    assert policy.project_roles(p, _principal("rob@client.EXAMPLE")) == {"client_rep"}
    assert policy.project_roles(p, _principal("pat@us.example")) == {"pm", "team"}
    assert policy.project_roles(p, _principal("dev@us.example")) == {"team"}
    assert policy.project_roles(p, _principal("sam@client.example")) == {"steering"}
    assert policy.project_roles(p, _principal("stranger@else.example")) == frozenset()
    assert policy.project_roles(p, None) == frozenset()


def test_a_supplier_person_never_holds_client_rep() -> None:
    p = _project()
    p = replace(p, people=(*p.people, Person(id="p-x", name="X", role="client representative", email="x@us.example")))
    assert "client_rep" not in policy.project_roles(p, _principal("x@us.example"))


def test_gate_approval_needs_the_gate_role_on_that_project() -> None:
    p = _project()
    sponsor, rep = _principal("dana@client.example"), _principal("rob@client.example")
    assert policy.allowed(sponsor, policy.APPROVE_GATE, p, gate_role="sponsor")
    assert not policy.allowed(sponsor, policy.APPROVE_GATE, p, gate_role="client_representative")
    assert policy.allowed(rep, policy.APPROVE_GATE, p, gate_role="client_representative")
    # a charter role is held by whom the charter names, as the gate has always counted approvals
    assert not policy.allowed(
        sponsor, policy.APPROVE_GATE, replace(p, charter=replace(p.charter, sponsor="")), gate_role="sponsor"
    )
    other = replace(small_project("OTHER-1"))
    assert not policy.allowed(sponsor, policy.APPROVE_GATE, other, gate_role="sponsor")


def test_admin_records_on_behalf_but_does_not_approve_itself() -> None:
    p = _project()
    admin = _principal("admin@pmo.example", "pmo_admin")
    assert not policy.allowed(admin, policy.APPROVE_GATE, p, gate_role="sponsor")
    assert policy.allowed(admin, policy.RECORD_ON_BEHALF, p)
    assert policy.allowed(admin, policy.WAIVE_RULE, p, rule_roles=frozenset({"pmo", "sponsor"}))
    assert not policy.allowed(admin, policy.WAIVE_RULE, p, rule_roles=frozenset({"sponsor"}))
    assert not policy.allowed(_principal("dana@client.example"), policy.RECORD_ON_BEHALF, p)


def test_viewer_reads_everything_and_changes_nothing() -> None:
    p = _project()
    viewer = _principal("v@pmo.example", "pmo_viewer")
    assert policy.allowed(viewer, policy.VIEW_PORTFOLIO)
    assert policy.allowed(viewer, policy.VIEW_PROJECT, p)
    changing = set(policy.ACTIONS) - {policy.VIEW_PORTFOLIO, policy.VIEW_PROJECT, policy.REVIEW_RULES}
    for action in changing:
        assert not policy.allowed(viewer, action, p, gate_role="sponsor", rule_roles=frozenset({"sponsor"})), action


def test_a_client_of_one_project_cannot_view_another() -> None:
    rep = _principal("rob@client.example")
    assert policy.allowed(rep, policy.VIEW_PROJECT, _project())
    assert not policy.allowed(rep, policy.VIEW_PROJECT, small_project("OTHER-1"))
    assert not policy.allowed(rep, policy.VIEW_PORTFOLIO)


def test_a_client_link_only_accepts() -> None:
    p = _project()
    link = _principal("rob@client.example", method="client_link")
    assert policy.allowed(link, policy.ACCEPT_FOR_CLIENT, p)
    assert not policy.allowed(link, policy.VIEW_PROJECT, p)
    assert not policy.allowed(_principal("pat@us.example"), policy.ACCEPT_FOR_CLIENT, p)


def test_require_names_user_action_and_project() -> None:
    p = _project()
    with pytest.raises(Forbidden) as exc:
        policy.require(_principal("dev@us.example"), policy.APPROVE_GATE, p, gate_role="sponsor")
    text = str(exc.value)
    assert "dev@us.example" in text and "approve gate as sponsor" in text and p.code in text and "team" in text
    with pytest.raises(Forbidden, match="nobody is signed in"):
        policy.require(None, policy.ADVANCE, p)
    assert policy.require(_principal("pat@us.example"), policy.RECORD_PROGRESS, p).email == "pat@us.example"


def test_every_action_has_a_row_and_roles_are_known() -> None:
    known = set(policy.GLOBAL_ROLES) | set(policy.PROJECT_ROLES) | {policy.GATE_ROLE_HOLDER, policy.WAIVER_ROLE_HOLDER}
    rows = policy.permission_rows()
    assert [a for a, _ in rows] == list(policy.ACTIONS) and len(rows) == 12
    for _, roles in rows:
        assert roles and set(roles) <= known
