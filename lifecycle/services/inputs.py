"""Values typed on the command line or in a form, held to the limits every file is held to.

The faces parse an option (a date, an amount, a number of days) and ask here whether it is within
:mod:`lifecycle.domain.limits` before any use case runs, so ``--as-of 0001-01-01`` or
``--amount 1e30`` is refused like the same value in a project file. Each check returns the message
(``None`` when the value is fine); the face reports it as a bad option (exit 2). Numbers that end up
in the project (days, costs, percentages) are held to their field's limits again when the changed
project is validated (:func:`lifecycle.domain.validate.validate_project`).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lifecycle.domain.limits import MAX_MONEY, date_problem, finite_problem


def date_option_problem(value: date) -> str | None:
    """A date outside the years a project may use."""
    return date_problem(value)


def amount_problem(value: Decimal | float) -> str | None:
    """An amount of money that is not finite or beyond the largest accepted."""
    bad = finite_problem(value)
    if bad:
        return bad
    return f"{value} is beyond the largest amount accepted ({MAX_MONEY:g})" if abs(Decimal(value)) > MAX_MONEY else None
