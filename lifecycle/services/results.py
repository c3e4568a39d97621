"""Service results as plain data: what a face prints as JSON or hands to a template.

Services return frozen dataclasses (their own result types or domain entities); a face that needs
them as plain dicts and lists asks here instead of reaching into the domain, so every face turns a
result into JSON the same way (money as a float, dates left to the face's encoder).
"""

from __future__ import annotations

from typing import Any

from lifecycle.domain.fields import to_plain


def plain(value: Any) -> Any:
    """``value`` (a dataclass tree) as plain dicts and lists; money becomes a float."""
    return to_plain(value, money=float)
