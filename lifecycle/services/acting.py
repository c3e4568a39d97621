"""Who takes a decision: the acting principal as a holder of a project role, or on behalf of one.

Approvals and waivers are decisions of a named role holder. :func:`decider` turns the context's
principal into the person or contact of the project who decides, and says what the audit trail
records about it:

* a principal linked (by e-mail) to a person or contact holding the role decides as that person;
  ``by`` may name that same person, never anyone else;
* a ``pmo_admin`` naming ``by`` records a decision taken elsewhere *on behalf of* that person
  (``RECORD_ON_BEHALF``); the audit data then holds both ``recorded_by`` and ``on_behalf_of``;
* anyone else is refused with :class:`~lifecycle.errors.Forbidden` before anything is written.

The audit data always carries the acting ``user_id`` and ``auth_method``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lifecycle.domain import policy
from lifecycle.domain.model import Project
from lifecycle.errors import Forbidden
from lifecycle.services.context import Context


@dataclass(frozen=True, slots=True)
class Decider:
    """The person or contact id deciding, and the audit data naming who recorded it and how."""

    person: str
    audit: dict[str, Any]


def _require_signed_in(ctx: Context, action: str, project: Project, **kw: Any) -> policy.Principal:
    if ctx.principal is None:
        try:
            return policy.require(None, action, project, **kw)
        except Forbidden as exc:
            raise Forbidden(f"{exc}" + (f" ({ctx.principal_problem})" if ctx.principal_problem else "")) from None
    return ctx.principal


def decider(
    ctx: Context,
    project: Project,
    action: str,
    *,
    role: str,
    by: str | None,
) -> Decider:
    """Who decides ``action`` (APPROVE_GATE or WAIVE_RULE) in ``role`` on ``project``; Forbidden if nobody may.

    ``by`` is the id of the person named on the command line (already resolved), or None.
    """
    kw: dict[str, Any] = {"gate_role": role} if action == policy.APPROVE_GATE else {"rule_roles": frozenset({role})}
    principal = _require_signed_in(ctx, action, project, **kw)
    audit: dict[str, Any] = {"user_id": principal.user_id, "auth_method": principal.auth_method}
    own = policy.linked_ids(project, principal) & policy.role_holders(project, role)
    if by is not None and by not in own:
        policy.require(principal, policy.RECORD_ON_BEHALF, project)
        return Decider(by, {**audit, "recorded_by": principal.label(), "on_behalf_of": by})
    policy.require(principal, action, project, **kw)
    if by is not None:
        return Decider(by, audit)
    # a pmo_admin waiving in the pack's 'pmo' role may be no person of the project: they are named by e-mail
    return Decider(min(own) if own else principal.email, audit)
