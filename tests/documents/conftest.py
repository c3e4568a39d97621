"""Fixtures for the document tests: contexts on an in-memory store, rendered samples, test certificates.

Rendering all ten documents (five kinds, two languages) takes several seconds, so each is issued once
per session (``issued``) and the read-only checks share it; tests that change things issue their own.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from lifecycle.domain.model import DocumentRecord, Project
from lifecycle.services.context import Context
from lifecycle.storage.memory import MemoryStore
from lifecycle.storage.protocol import Record
from lifecycle.workspace import Settings, Workspace
from tests.documents.samples import closed, gate_review, in_execution, load_sample

TOOLS = ("pdftotext", "pdffonts", "pdfinfo", "pdfdetach", "pdfsig", "qpdf", "pdftoppm")
missing = [t for t in TOOLS if shutil.which(t) is None]
needs_tools = pytest.mark.skipif(bool(missing), reason=f"needs poppler-utils and qpdf ({', '.join(missing)})")

# When each kind is issued, and from which state of the sample.
SCENARIOS: dict[str, tuple[str, date]] = {
    "status": ("execution", date(2026, 11, 16)),
    "gate_review": ("planning", date(2026, 7, 22)),
    "acceptance": ("closed", date(2026, 7, 25)),
    "final_acceptance": ("closed", date(2027, 3, 29)),
    "handover": ("closed", date(2027, 3, 29)),
}


def project_for(which: str, state: str, today: date) -> Project:
    base = load_sample(which)
    if state == "execution":
        return in_execution(base, today)
    if state == "closed":
        return closed(base)
    return base


def make_ctx(
    root: Path,
    project: Project | None = None,
    *,
    today: date = date(2027, 3, 29),
    signing: dict[str, Any] | None = None,
    store: MemoryStore | None = None,
    reviews: bool = True,
) -> Context:
    """A context on a MemoryStore holding ``project`` (and its gate review), clock fixed at 09:00 UTC."""
    store = store or MemoryStore()
    if project is not None:
        store.save(project, expected_version=None)
        if reviews:
            gr = gate_review(project)
            store.add_records(
                project.code,
                [
                    Record(
                        project.code, "gate_review", gr["id"], gr, created_at=datetime.fromisoformat(gr["evaluated_at"])
                    )
                ],
            )
    ws = Workspace(root, Settings(signing=signing or {}, actor="test-pm"))
    now = datetime(today.year, today.month, today.day, 9, 0, tzinfo=timezone.utc)
    return Context(ws, store, clock=lambda: now)


@dataclass
class Issued:
    which: str
    kind: str
    ctx: Context
    doc: DocumentRecord

    @property
    def path(self) -> Path:
        return Path(self.doc.path)


@pytest.fixture(scope="session")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], Issued]:
    """``issued(which, kind)``: the sample's document, issued once per session."""
    from lifecycle.services.documents import issue_document

    cache: dict[tuple[str, str], Issued] = {}
    root = tmp_path_factory.mktemp("issued")

    def get(which: str, kind: str) -> Issued:
        if (which, kind) not in cache:
            state, today = SCENARIOS[kind]
            project = project_for(which, state, today)
            ctx = make_ctx(root / f"{which}-{kind}", project, today=today)
            ms = next(m.id for m in project.milestones if m.kind == "acceptance") if kind == "acceptance" else None
            cache[(which, kind)] = Issued(which, kind, ctx, issue_document(ctx, project.code, kind, milestone=ms))
        return cache[(which, kind)]

    return get


@dataclass
class TestKeys:
    folder: Path
    cert: Path
    key: Path
    p12: Path
    passphrase: str = "test-passphrase"


@pytest.fixture(scope="session")
def test_keys(tmp_path_factory: pytest.TempPathFactory) -> TestKeys:
    """A self-signed signing certificate made for the test run (PEM key + cert, and PKCS#12)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("keys")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Document Signing Test"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Supplier Ltd"),
        ]
    )
    now = dt.datetime.now(dt.timezone.utc)
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    keys = TestKeys(folder, folder / "signer.crt", folder / "signer.key", folder / "signer.p12")
    keys.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keys.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    keys.p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"signer", key, cert, None, serialization.BestAvailableEncryption(keys.passphrase.encode())
        )
    )
    return keys
