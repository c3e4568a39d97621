"""Who may do what: the roles, the acting principal and the ONE permission table a reviewer reads.

Every change in pmo-lifecycle is made by a :class:`Principal` (a signed-in user, or a client acting
through a signed link). Roles come from two places:

* **Global roles** stored with the user: ``pmo_admin`` (runs the PMO: users, settings, rules, records
  decisions taken elsewhere *on behalf of* the holder) and ``pmo_viewer`` (reads every project).
* **Project roles** derived from the project file. A user is linked to the people and contacts of a
  project by e-mail (trimmed, case-insensitive); each linked entry gives roles:

  - ``sponsor``: the charter's ``sponsor``; a person or contact whose ``role`` is ``sponsor``
  - ``pm``: the charter's ``project_manager``; anyone whose ``role`` is ``project manager`` or ``pm``
  - ``client_rep``: the charter's ``client_representative``; a contact whose ``role`` is
    ``client representative`` (only contacts: the supplier never accepts for the client)
  - ``steering``: the charter's ``steering`` members; anyone whose ``role`` is ``steering``
  - ``team``: every person of the project (the supplier's resources), the ``acceptance_team`` and
    the ``support_contacts``

Gate approvals and waivers name the rule pack's roles (``sponsor``, ``client_representative``,
``steering``, ``pmo`` ...); :func:`role_holders` says which people and contacts hold such a role
(charter fields first, else people and contacts whose ``role`` matches), and a principal holds it
when one of its linked entries does. The pack role ``pmo`` is also held by every ``pmo_admin``.

:data:`PERMISSIONS` maps each action to the roles that may perform it; two pseudo-roles stand for
decisions whose role depends on the gate or the pack: ``holder of the gate role`` (approving the
gate in the role asked for) and ``holder of a waiver role`` (waiving a rule in a role the pack's
waiver policy allows). ``pmo_admin`` does not approve, waive or accept for anyone by default: it
records such a decision only *on behalf of* the holder (``RECORD_ON_BEHALF``), and the audit trail
says so. This module is pure: no I/O, only the model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lifecycle.domain.model import Project
from lifecycle.errors import Forbidden

# ------------------------------------------------------------------ roles
PMO_ADMIN = "pmo_admin"
PMO_VIEWER = "pmo_viewer"
GLOBAL_ROLES = (PMO_ADMIN, PMO_VIEWER)

SPONSOR = "sponsor"
PM = "pm"
CLIENT_REP = "client_rep"
STEERING = "steering"
TEAM = "team"
PROJECT_ROLES = (SPONSOR, PM, CLIENT_REP, STEERING, TEAM)

GATE_ROLE_HOLDER = "holder of the gate role"
WAIVER_ROLE_HOLDER = "holder of a waiver role"

AUTH_METHODS = ("password", "oidc", "token", "env", "client_link")

# ------------------------------------------------------------------ actions
VIEW_PORTFOLIO = "view_portfolio"
VIEW_PROJECT = "view_project"
RECORD_PROGRESS = "record_progress"
APPROVE_GATE = "approve_gate"
WAIVE_RULE = "waive_rule"
ADVANCE = "advance"
ACCEPT_FOR_CLIENT = "accept_for_client"
MANAGE_USERS = "manage_users"
CHANGE_SETTINGS = "change_settings"
RECORD_ON_BEHALF = "record_on_behalf"
REVIEW_RULES = "review_rules"
GENERATE_DOCUMENTS = "generate_documents"

_EVERY_ROLE = frozenset({PMO_ADMIN, PMO_VIEWER, *PROJECT_ROLES})

PERMISSIONS: dict[str, frozenset[str]] = {
    VIEW_PORTFOLIO: frozenset({PMO_ADMIN, PMO_VIEWER}),
    VIEW_PROJECT: _EVERY_ROLE,
    RECORD_PROGRESS: frozenset({PM, TEAM}),
    APPROVE_GATE: frozenset({GATE_ROLE_HOLDER}),
    WAIVE_RULE: frozenset({WAIVER_ROLE_HOLDER}),
    ADVANCE: frozenset({PM, SPONSOR, PMO_ADMIN}),
    ACCEPT_FOR_CLIENT: frozenset({CLIENT_REP}),
    MANAGE_USERS: frozenset({PMO_ADMIN}),
    CHANGE_SETTINGS: frozenset({PMO_ADMIN}),
    RECORD_ON_BEHALF: frozenset({PMO_ADMIN}),
    REVIEW_RULES: frozenset({PMO_ADMIN, PMO_VIEWER, PM}),
    GENERATE_DOCUMENTS: frozenset({PM, PMO_ADMIN}),
}
"""Action -> the roles allowed to perform it (global roles, project roles on that project, pseudo-roles)."""

ACTIONS = tuple(PERMISSIONS)

# Charter fields naming the holders of a pack role directly (kept in step with services.gates).
CHARTER_ROLES = (
    "sponsor",
    "project_manager",
    "client_representative",
    "steering",
    "acceptance_team",
    "support_contacts",
)


@dataclass(frozen=True, slots=True)
class Principal:
    """The acting user and how they were authenticated (``auth_method`` is one of AUTH_METHODS)."""

    user_id: str
    email: str
    name: str
    locale: str
    global_roles: frozenset[str]
    auth_method: str

    def label(self) -> str:
        """How the audit trail and messages name the principal: ``name <email>``."""
        return f"{self.name} <{self.email}>" if self.name else self.email


def normalise_email(email: str) -> str:
    return email.strip().casefold()


def _norm_role(role: str) -> str:
    return "_".join(role.strip().lower().replace("-", " ").split())


def linked_ids(project: Project, principal: Principal | None) -> frozenset[str]:
    """Ids of the people and contacts of ``project`` whose e-mail is the principal's."""
    if principal is None or not principal.email:
        return frozenset()
    want = normalise_email(principal.email)
    everyone: list[Any] = [*project.people, *project.contacts]
    return frozenset(x.id for x in everyone if x.email and normalise_email(x.email) == want)


def role_holders(project: Project, role: str) -> frozenset[str]:
    """Ids of the people and contacts who hold the pack role ``role`` in ``project``.

    A charter role (``sponsor``, ``project_manager`` ...) names its people; any other role matches
    people and contacts whose ``role`` is that role or contains it as a word (``pmo`` matches
    ``pmo_lead``).
    """
    ch = project.charter
    if role in CHARTER_ROLES:
        value = getattr(ch, role)
        return frozenset(value) if isinstance(value, tuple) else (frozenset({value}) if value else frozenset())
    want = role.lower()
    out = set()
    item: Any
    for item in (*project.people, *project.contacts):
        r = _norm_role(item.role)
        if r == want or want in r.split("_"):
            out.add(item.id)
    return frozenset(out)


_ROLE_WORDS = {
    SPONSOR: ("sponsor",),
    PM: ("project_manager", "pm"),
    CLIENT_REP: ("client_representative", "client_rep"),
    STEERING: ("steering",),
}


def _project_role_ids(project: Project) -> dict[str, frozenset[str]]:
    ch = project.charter
    everyone: list[Any] = [*project.people, *project.contacts]
    by_role = {
        SPONSOR: {ch.sponsor},
        PM: {ch.project_manager},
        CLIENT_REP: {ch.client_representative},
        STEERING: set(ch.steering),
        TEAM: {p.id for p in project.people} | set(ch.acceptance_team) | set(ch.support_contacts),
    }
    for role, words in _ROLE_WORDS.items():
        by_role[role] |= {x.id for x in everyone if _norm_role(x.role) in words}
    if CLIENT_REP in by_role:
        # a client representative is a contact: people of the supplier never accept for the client
        contacts = {c.id for c in project.contacts}
        by_role[CLIENT_REP] &= contacts
    return {role: frozenset(ids - {""}) for role, ids in by_role.items()}


def project_roles(project: Project, principal: Principal | None) -> frozenset[str]:
    """The project roles the principal holds on ``project`` (empty when it is not linked to anyone)."""
    ids = linked_ids(project, principal)
    if not ids:
        return frozenset()
    return frozenset(role for role, holders in _project_role_ids(project).items() if holders & ids)


def internal_readers(project: Project) -> frozenset[str]:
    """Ids of the people who may receive the PMO's internal documents of ``project`` (every cost figure):
    its project managers and the people whose role is ``pmo``; people of the supplier only, never a
    contact of the client."""
    ids = _project_role_ids(project)[PM] | role_holders(project, "pmo")
    return frozenset(ids & {p.id for p in project.people})


def reads_internal(project: Project, principal: Principal | None) -> bool:
    """Whether ``principal`` may see the PMO's internal documents of ``project``: a PMO user, or one of
    :func:`internal_readers`; a client representative or a client link never."""
    if principal is None or principal.auth_method == "client_link":
        return False
    if principal.global_roles & {PMO_ADMIN, PMO_VIEWER}:
        return True
    return bool(internal_readers(project) & linked_ids(project, principal))


def holds_pack_role(project: Project, principal: Principal | None, role: str) -> bool:
    """Whether the principal holds the rule pack's role ``role`` (a gate approval or waiver role)."""
    if principal is None:
        return False
    if role == "pmo" and PMO_ADMIN in principal.global_roles:
        return True
    return bool(role_holders(project, role) & linked_ids(project, principal))


def _roles_of(principal: Principal, project: Project | None) -> frozenset[str]:
    roles = frozenset(principal.global_roles)
    if project is not None:
        roles |= project_roles(project, principal)
    return roles


def allowed(
    principal: Principal | None,
    action: str,
    project: Project | None = None,
    *,
    gate_role: str | None = None,
    rule_roles: frozenset[str] | None = None,
) -> bool:
    """Whether ``principal`` may perform ``action`` (on ``project`` for project actions).

    ``gate_role`` is the role an approval is given in (APPROVE_GATE); ``rule_roles`` the roles the
    pack lets waive (WAIVE_RULE). A client-link principal may only accept for the client.
    """
    if principal is None or action not in PERMISSIONS:
        return False
    if principal.auth_method == "client_link" and action != ACCEPT_FOR_CLIENT:
        return False
    needed = PERMISSIONS[action]
    if project is not None and GATE_ROLE_HOLDER in needed and gate_role:
        return holds_pack_role(project, principal, gate_role)
    if project is not None and WAIVER_ROLE_HOLDER in needed and rule_roles:
        return any(holds_pack_role(project, principal, r) for r in rule_roles)
    return bool(needed & _roles_of(principal, project))


def require(
    principal: Principal | None,
    action: str,
    project: Project | None = None,
    *,
    gate_role: str | None = None,
    rule_roles: frozenset[str] | None = None,
) -> Principal:
    """The principal when :func:`allowed`, else :class:`Forbidden` naming the user, action and project."""
    if allowed(principal, action, project, gate_role=gate_role, rule_roles=rule_roles):
        assert principal is not None
        return principal
    raise Forbidden(_refusal(principal, action, project, gate_role, rule_roles))


def _refusal(
    principal: Principal | None,
    action: str,
    project: Project | None,
    gate_role: str | None,
    rule_roles: frozenset[str] | None,
) -> str:
    where = f" on {project.code}" if project is not None else ""
    what = action.replace("_", " ")
    if gate_role:
        what += f" as {gate_role}"
    if rule_roles:
        what += f" (as one of: {', '.join(sorted(rule_roles))})"
    if principal is None:
        return f"nobody is signed in: sign in (`pmo login` or PMO_USER) to {what}{where}"
    roles = sorted(_roles_of(principal, project))
    held = ", ".join(roles) if roles else "no role"
    return f"{principal.label()} may not {what}{where} (holds: {held})"


def permission_rows() -> list[tuple[str, list[str]]]:
    """The table as rows (action, sorted roles) for ``pmo user permissions`` and the README."""
    return [(action, sorted(roles)) for action, roles in PERMISSIONS.items()]


def unknown_global_roles(roles: Iterable[str]) -> tuple[str, ...]:
    """The names in ``roles`` that are not global roles (services refuse them with InvalidInput)."""
    return tuple(r for r in roles if r not in GLOBAL_ROLES)
