"""The one exception tree of pmo-lifecycle.

Every error a user can cause, and every foreign error we translate at a boundary, is one of these.
The CLI maps them to exit codes (``exit_code``) and prints ``str(error)``: one readable message,
never a traceback.

::

    LifecycleError                 base; exit code 2 unless a subclass says otherwise
    ├── SpecError                  a project file or rule pack is invalid (carries every Problem)
    ├── NotFound                   an unknown project, phase, milestone, document ...
    ├── InvalidInput               a bad value on the command line or in a service call
    ├── IllegalTransition          the lifecycle has no such transition from the current phase (exit 1)
    ├── GateBlocked                the gate said no-go or approvals are missing (exit 1, carries the decision)
    ├── ConcurrentUpdate           someone else changed the project first (exit 1)
    ├── StorageError               the database refused or is unreachable
    ├── AuditTampered              the hash chain of the audit trail is broken (exit 1)
    ├── RenderError                a document could not be rendered or signed
    ├── DeliveryError              an email or webhook could not be delivered; ``permanent`` when a retry
    │   │                          cannot help (a 4xx webhook answer, a redirect), else worth retrying
    │   ├── DeliveryRefused        refused for good (5xx, refused recipients): always permanent
    │   ├── DeliveryUncertain      a send was interrupted mid-transaction: it may have been delivered
    │   └── EventNotSent           recorded, but the event that starts its flow did not reach the server (exit 3)
    ├── ConfigError                a setting is missing or wrong
    ├── Forbidden                  the acting user may not do this (exit 1)
    ├── AuthFailed                 sign-in refused: unknown user, wrong password or disabled (one message)
    ├── RateLimited                too many failed sign-ins; carries ``retry_after`` seconds
    └── LinkError                  a client link cannot be used (exit 1)
        ├── LinkInvalid            not a link we issued, tampered, or for another purpose
        ├── LinkExpired            the link's time is over
        └── LinkUsed               the link was already used (single use)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a user's file: where it is and what is wrong."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        field = f" {self.path}:" if self.path else ""
        return f"{where}{field} {self.message}"


class LifecycleError(Exception):
    """Base of every error pmo-lifecycle raises on purpose."""

    exit_code = 2


class SpecError(LifecycleError):
    """A project file or rule pack failed validation; ``problems`` lists all of them."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...], summary: str | None = None):
        self.problems = tuple(problems)
        head = summary or f"{len(self.problems)} problem(s) found, nothing was written"
        super().__init__(head + "\n" + "\n".join(f"  {p}" for p in self.problems))


class NotFound(LifecycleError):
    """Something named by the user does not exist."""


class InvalidInput(LifecycleError):
    """A value given on the command line or to a service is not acceptable."""


class IllegalTransition(LifecycleError):
    """The lifecycle has no transition from the current phase to the requested one."""

    exit_code = 1


class GateBlocked(LifecycleError):
    """A gate refused a transition; ``decision`` holds the full, explained decision."""

    exit_code = 1

    def __init__(self, message: str, decision: Any = None):
        super().__init__(message)
        self.decision = decision


class ConcurrentUpdate(LifecycleError):
    """The project changed since it was read (optimistic concurrency)."""

    exit_code = 1


class StorageError(LifecycleError):
    """The database failed or refused an operation."""


class AuditTampered(LifecycleError):
    """The audit trail's hash chain does not verify."""

    exit_code = 1


class RenderError(LifecycleError):
    """A document could not be rendered, written or signed."""


class DeliveryError(LifecycleError):
    """An email or a webhook could not be delivered.

    ``permanent`` says a retry cannot help (the server refused the message or its recipients for good,
    or a recipient already received it); a transient error (no connection, a timeout, a 4xx SMTP
    reply, a 5xx HTTP answer) is worth retrying.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent

    def __reduce__(self) -> Any:  # keeps the class and ``permanent`` when a flow engine pickles the exception
        return (_delivery_error, (type(self), str(self), self.permanent))


def _delivery_error(cls: type[DeliveryError], message: str, permanent: bool) -> DeliveryError:
    error = cls(message)
    error.permanent = permanent
    return error


class DeliveryRefused(DeliveryError):
    """The server refused the message for good (a 5xx reply, refused recipients): never retried automatically."""

    def __init__(self, message: str, *, permanent: bool = True) -> None:
        super().__init__(message, permanent=True)


class DeliveryUncertain(DeliveryError):
    """An earlier send stopped mid-transaction: the message may have been delivered, so it is not resent
    automatically (``pmo outbox resend`` decides)."""

    exit_code = 1

    def __init__(self, message: str, *, permanent: bool = True) -> None:
        super().__init__(message, permanent=True)


class EventNotSent(DeliveryError):
    """The change was recorded, but the event that starts its flow did not reach the Prefect server.

    Exit code 3 (an outside system failed, not the user's input); the message says how to retry.
    """

    exit_code = 3


class ConfigError(LifecycleError):
    """A setting is missing or invalid."""


class Forbidden(LifecycleError):
    """The acting principal lacks the permission (the message names the user, the action and the project)."""

    exit_code = 1


class AuthFailed(LifecycleError):
    """Sign-in refused. One message for an unknown user, a wrong password and a disabled account."""

    exit_code = 1


class RateLimited(LifecycleError):
    """Too many failed sign-ins for this e-mail or address; try again after ``retry_after`` seconds."""

    exit_code = 1

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class LinkError(LifecycleError):
    """A client link cannot be used; nothing was recorded."""

    exit_code = 1


class LinkInvalid(LinkError):
    """The link was not issued by this workspace, was altered, or is for another purpose or document."""


class LinkExpired(LinkError):
    """The link's validity is over."""


class LinkUsed(LinkError):
    """The link was already used: it accepts one answer only."""
