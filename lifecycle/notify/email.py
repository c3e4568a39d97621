"""Sending e-mail over SMTP: settings, message building and the one call that talks to the server.

Settings come from the workspace's ``smtp`` mapping::

    smtp:
      host: mail.example.com      # required
      port: 587                   # default 25, 587 with starttls, 465 with ssl
      starttls: true              # upgrade a plain connection with STARTTLS
      ssl: false                  # connect with implicit TLS (SMTPS)
      username: pmo-bot
      password_env: PMO_SMTP_PASSWORD   # name of the environment variable holding the password
      from: "PMO <pmo@example.com>"
      timeout: 30

The password may also be given as ``password``, but keeping it in the environment keeps it out of a
settings file that is often under version control. The ``Message-ID`` is derived from the caller's
idempotency key, so a message re-sent after a failure carries the same id and mail clients show it once.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr
from typing import Any

from lifecycle.errors import ConfigError, DeliveryError, DeliveryRefused, DeliveryUncertain, InvalidInput

_KNOWN = {
    "host",
    "port",
    "starttls",
    "ssl",
    "username",
    "password",
    "password_env",
    "from",
    "timeout",
    "reply_to",
    "bcc",
}


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    starttls: bool = False
    use_ssl: bool = False
    username: str = ""
    password: str = ""
    sender: str = "pmo@localhost"
    timeout: float = 30.0
    reply_to: str = ""
    bcc: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> SmtpConfig:
        """Validate the workspace's ``smtp`` settings; ConfigError names what is wrong."""
        if not settings or not settings.get("host"):
            raise ConfigError("no SMTP server configured: set smtp.host (and port, from) in settings.yaml")
        unknown = sorted(set(settings) - _KNOWN)
        if unknown:
            raise ConfigError(f"unknown smtp setting(s): {', '.join(unknown)} (known: {', '.join(sorted(_KNOWN))})")
        starttls = bool(settings.get("starttls", False))
        use_ssl = bool(settings.get("ssl", False))
        if starttls and use_ssl:
            raise ConfigError("smtp: choose starttls or ssl, not both")
        default_port = 465 if use_ssl else 587 if starttls else 25
        try:
            port = int(settings.get("port", default_port))
            timeout = float(settings.get("timeout", 30))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"smtp: port and timeout must be numbers ({exc})") from exc
        password = str(settings.get("password") or "")
        env_name = settings.get("password_env")
        if env_name:
            if str(env_name) not in os.environ:
                raise ConfigError(f"smtp.password_env names {env_name}, which is not set in the environment")
            password = os.environ[str(env_name)]
        sender = str(settings.get("from") or "pmo@localhost")
        if "@" not in parseaddr(sender)[1]:
            raise ConfigError(f"smtp.from '{sender}' is not an e-mail address")
        bcc = settings.get("bcc") or ()
        if isinstance(bcc, str):
            bcc = (bcc,)
        return cls(
            host=str(settings["host"]),
            port=port,
            starttls=starttls,
            use_ssl=use_ssl,
            username=str(settings.get("username") or ""),
            password=password,
            sender=sender,
            timeout=timeout,
            reply_to=str(settings.get("reply_to") or ""),
            bcc=tuple(str(b) for b in bcc),
        )

    @property
    def sender_domain(self) -> str:
        addr = parseaddr(self.sender)[1]
        return addr.rpartition("@")[2] or "localhost"

    @property
    def sender_name(self) -> str:
        name, addr = parseaddr(self.sender)
        return name or addr


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime: str = "application/pdf"


def message_id_for(key: str, domain: str) -> str:
    """The Message-ID of the message with idempotency ``key``: the same key, the same id."""
    return f"<pmo.{key[:40]}@{domain}>"


def build_message(
    *,
    sender: str,
    to: Sequence[str],
    subject: str,
    body: str,
    attachments: Sequence[Attachment] = (),
    message_id: str,
    date: datetime,
    reply_to: str = "",
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = [mailbox(r) for r in to]
    msg["Subject"] = _one_line(subject)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    if reply_to:
        msg["Reply-To"] = reply_to
    for name, value in (headers or {}).items():
        msg[name] = _one_line(value)
    msg.set_content(body, charset="utf-8")
    for att in attachments:
        maintype, _, subtype = att.mime.partition("/")
        msg.add_attachment(att.content, maintype=maintype, subtype=subtype or "octet-stream", filename=att.filename)
    return msg


def _one_line(text: str) -> str:
    """Header text from project data on one line: a CR or LF can never start a header of its own."""
    return " ".join(str(text).split())


def mailbox(raw: str) -> Address:
    """``Name <addr>`` as a header Address: the name on one line and encoded as needed, the address
    checked (InvalidInput otherwise), so a name holding ``\r\nBcc: x`` stays part of the name."""
    pairs = getaddresses([" ".join(raw.split("\n")).replace("\r", " ")])
    name, addr = pairs[0] if pairs else ("", "")
    try:
        return Address(display_name=_one_line(name), addr_spec=addr)
    except (ValueError, IndexError) as exc:
        raise InvalidInput(f"'{_one_line(raw)[:80]}' is not an e-mail address: {exc}") from exc


def _bare_address(raw: str) -> str:
    """The one address in ``raw`` (``addr`` or ``Name <addr>``), or "" when it is not exactly one."""
    if any(ord(c) < 32 or ord(c) == 127 for c in raw):
        return ""  # a CR, LF or NUL in an address is never a typo worth guessing around
    pairs = getaddresses([raw])
    if len(pairs) != 1:
        return ""
    addr = pairs[0][1]
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in addr):
        return ""
    # the parser drops what it cannot use ("rob@north wind.example" gives rob@northwind.example):
    # the address as written must be the address parsed
    written = raw[raw.rfind("<") + 1 : raw.rfind(">")] if raw.rstrip().endswith(">") else raw
    return addr if written.strip() == addr else ""


def check_addresses(addresses: Sequence[str]) -> list[str]:
    """The addresses, each checked to be exactly one ``name@domain`` (InvalidInput otherwise)."""
    out = []
    for raw in addresses:
        addr = _bare_address(raw)
        if not addr:
            raise InvalidInput(f"'{_one_line(raw)[:120]}' is not an e-mail address")
        try:
            Address(addr_spec=addr)
        except (ValueError, IndexError) as exc:
            raise InvalidInput(f"'{_one_line(raw)[:120]}' is not an e-mail address: {exc}") from exc
        out.append(raw)
    return out


class _Tracked:
    """An SMTP client noting how far the DATA phase got (see :func:`send_message`)."""

    in_data = False  # the DATA command went out: the server may have the whole message
    accepted = False  # the server answered 250 to the message: it is delivered, whatever follows

    def data(self, msg: Any) -> tuple[int, bytes]:
        self.in_data = True
        reply: tuple[int, bytes] = super().data(msg)  # type: ignore[misc]
        self.accepted = reply[0] == 250
        return reply


class _Client(_Tracked, smtplib.SMTP):
    pass


class _SslClient(_Tracked, smtplib.SMTP_SSL):
    pass


def send_message(cfg: SmtpConfig, msg: EmailMessage, recipients: Sequence[str]) -> None:
    """Hand ``msg`` to the SMTP server for ``recipients`` (plus the configured Bcc).

    Raises :class:`~lifecycle.errors.DeliveryRefused` when the server refuses for good (a 5xx reply,
    or some recipients refused after others accepted), :class:`~lifecycle.errors.DeliveryUncertain`
    when the connection broke after the message went out but before the server's answer (it may have
    been delivered), else :class:`~lifecycle.errors.DeliveryError` (worth retrying). A failure after
    the server accepted the message (on QUIT) is no failure: the message was delivered.
    """
    rcpt = [parseaddr(r)[1] for r in recipients] + [parseaddr(b)[1] for b in cfg.bcc]
    where = f"{cfg.host}:{cfg.port}"
    client: _Client | _SslClient | None = None
    refused: dict[str, tuple[int, bytes]] = {}
    try:
        if cfg.use_ssl:
            client = _SslClient(cfg.host, cfg.port, timeout=cfg.timeout, context=ssl.create_default_context())
        else:
            client = _Client(cfg.host, cfg.port, timeout=cfg.timeout)
        with client:
            if cfg.starttls:
                client.starttls(context=ssl.create_default_context())
            if cfg.username:
                client.login(cfg.username, cfg.password)
            refused = client.send_message(msg, from_addr=parseaddr(cfg.sender)[1], to_addrs=rcpt)
    except (ssl.SSLCertVerificationError, smtplib.SMTPNotSupportedError, UnicodeError, ValueError) as exc:
        # a certificate that does not verify, a server without STARTTLS or a message it cannot take:
        # the same attempt would fail the same way
        if client is None or not client.accepted:
            raise DeliveryRefused(f"cannot send e-mail through {where}: {exc}") from exc
    except (TimeoutError, smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        if client is None or not client.accepted:
            raise _failure(where, exc, in_data=client is not None and client.in_data) from exc
    if refused:
        # the others got it: sending again would repeat it to them, so this is never retried automatically
        raise DeliveryRefused(
            f"SMTP server {where} accepted the message but refused some recipients: {_refusals(refused)}"
        )


def _failure(where: str, exc: BaseException, *, in_data: bool) -> DeliveryError:
    """The DeliveryError (or subclass) for ``exc`` raised by the SMTP client."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        error = DeliveryRefused if any(_permanent(code) for code, _ in exc.recipients.values()) else DeliveryError
        return error(f"SMTP server {where} refused every recipient: {_refusals(exc.recipients)}")
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        error = DeliveryRefused if _permanent(exc.smtp_code) else DeliveryError
        return error(f"SMTP server {where} refused the message: {exc.smtp_code} {text}")
    if in_data:
        return DeliveryUncertain(
            f"the connection to SMTP server {where} broke after the message went out and before the server "
            f"answered: it may have been delivered ({exc})"
        )
    return DeliveryError(f"cannot send e-mail through {where}: {exc}")


def _permanent(code: int) -> bool:
    """A 5xx reply: the server will refuse the same message again (4xx replies are worth retrying)."""
    return 500 <= int(code) < 600


def _refusals(refused: Mapping[str, Any]) -> str:
    parts = []
    for addr, (code, text) in refused.items():
        msg = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        parts.append(f"{addr} ({code} {msg})")
    return ", ".join(parts)
