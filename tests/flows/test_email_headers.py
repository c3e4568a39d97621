"""E-mail headers from project data: names with CR/LF or header syntax stay inside their header, names
are encoded, and a malformed address is a clear InvalidInput (a permanent error, never retried)."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, timezone
from email.utils import formataddr, getaddresses

import pytest

from lifecycle.errors import InvalidInput
from lifecycle.notify.email import build_message, mailbox

NOW = datetime(2026, 3, 30, tzinfo=timezone.utc)


def test_crlf_in_names_subject_and_headers_cannot_add_headers():
    to = [
        formataddr(("Evil\r\nBcc: victim@evil.example", "rep@client.example")),
        formataddr(("王 雷", "wang@client.example")),
        formataddr(("Smith, J", "j@client.example")),
    ]
    msg = build_message(
        sender="PMO <pmo@supplier.example>",
        to=to,
        subject="Certificate\r\nBcc: another@evil.example",
        body="body",
        message_id="<m@supplier.example>",
        date=NOW,
        headers={"X-PMO-Project": "P-1\nX-Injected: yes"},
    )
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert parsed.get_all("Bcc") is None and parsed.get_all("X-Injected") is None
    assert [addr for _, addr in getaddresses(parsed.get_all("To"))] == [
        "rep@client.example",
        "wang@client.example",
        "j@client.example",
    ]
    assert str(parsed["Subject"]) == "Certificate Bcc: another@evil.example"
    assert "王 雷" in str(parsed["To"]) and "=?utf-8?" in msg.as_string()  # encoded on the wire


def test_a_malformed_address_is_invalid_input():
    with pytest.raises(InvalidInput, match="is not an e-mail address"):
        mailbox("Someone <not-an-address>")
