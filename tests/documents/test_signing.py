"""PAdES signing with a certificate made for the test, checked by pyHanko and by poppler's pdfsig.

pdfsig exits 0 for a valid and for a tampered file alike, so these tests read what it prints.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from lifecycle.documents.sign import SigningConfig, sign_pdf, verify_pdf
from lifecycle.errors import ConfigError
from lifecycle.services.documents import issue_document, verify_document
from tests.documents.conftest import make_ctx, needs_tools
from tests.documents.samples import closed, load_sample

pytestmark = needs_tools


def pdfsig(path: Path) -> str:
    res = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True)
    assert res.returncode == 0  # always 0: the text is what tells
    return res.stdout + res.stderr


def flip_byte(path: Path, at: int) -> Path:
    data = bytearray(path.read_bytes())
    data[at] = (data[at] + 1) % 256
    out = path.with_name("tampered-" + path.name)
    out.write_bytes(bytes(data))
    return out


@pytest.fixture
def signed(tmp_path, test_keys, monkeypatch):
    monkeypatch.setenv("PMO_TEST_SIGNING_PASS", test_keys.passphrase)
    project = closed(load_sample("zh"))
    ctx = make_ctx(
        tmp_path / "ws",
        project,
        signing={
            "pkcs12": str(test_keys.p12),
            "passphrase_env": "PMO_TEST_SIGNING_PASS",
            "reason": "客户验收",
            "location": "杭州",
        },
    )
    doc = issue_document(ctx, project.code, "acceptance", milestone="M2")
    return ctx, doc


def test_signed_document_verifies(signed):
    ctx, doc = signed
    assert doc.signed
    result = verify_document(ctx, doc.path)
    assert result.verdict == "authentic", result.problems
    assert result.signature == "valid" and result.registered and result.record_matches
    (sig,) = result.signatures
    assert sig["intact"] and sig["valid"] and sig["trusted"] and sig["covers_whole_file"]
    assert "Document Signing Test" in sig["signer"]
    text = pdfsig(Path(doc.path))
    assert "Signature Validation: Signature is Valid." in text
    assert "Total document signed" in text and "ETSI.CAdES.detached" in text


def test_signing_keeps_pdfa_markers_and_the_record(signed):
    _, doc = signed
    reader = PdfReader(doc.path)
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    (blob,) = reader.attachments[f"{doc.number}.json"]
    assert json.loads(blob) == doc.record


def test_one_byte_changed_is_detected_by_us_and_by_pdfsig(signed):
    ctx, doc = signed
    path = Path(doc.path)
    tampered = flip_byte(path, len(path.read_bytes()) // 3)
    result = verify_document(ctx, tampered)
    assert result.verdict == "altered"
    assert result.signature == "invalid" and not result.registered
    assert result.document is not None and result.document.number == doc.number
    assert any("does not match" in p or "checksum differs" in p for p in result.problems)
    text = pdfsig(tampered)
    assert "Signature is Valid" not in text
    assert "Digest Mismatch" in text or "Signature is Invalid" in text


def test_appending_after_the_signature_is_detected(signed):
    ctx, doc = signed
    path = Path(doc.path)
    grown = path.with_name("grown.pdf")
    grown.write_bytes(path.read_bytes() + b"\n% appended\n")
    result = verify_document(ctx, grown)
    assert result.verdict == "altered"
    assert (
        "Signature is Valid" not in pdfsig(grown)
        or "not total document signed" in pdfsig(grown).lower()
        or result.signature == "invalid"
    )


def test_pem_key_and_certificate_sign_too(tmp_path, test_keys):
    project = closed(load_sample("en"))
    ctx = make_ctx(tmp_path / "ws", project, signing={"key": str(test_keys.key), "cert": str(test_keys.cert)})
    doc = issue_document(ctx, project.code, "handover")
    result = verify_document(ctx, doc.path)
    assert doc.signed and result.verdict == "authentic" and result.signatures[0]["trusted"]
    assert "Signature is Valid" in pdfsig(Path(doc.path))


def test_a_foreign_signer_is_intact_but_not_trusted(tmp_path, test_keys):
    pdf = (Path(__file__).parent / "samples.py").read_bytes()  # not a PDF: nothing to verify
    assert verify_pdf(pdf)[0].problem
    project = closed(load_sample("en"))
    ctx = make_ctx(tmp_path / "ws", project)
    doc = issue_document(ctx, project.code, "handover")  # unsigned
    cfg = SigningConfig.from_settings({"key": str(test_keys.key), "cert": str(test_keys.cert)}, tmp_path)
    assert cfg is not None
    signed_bytes = sign_pdf(Path(doc.path).read_bytes(), cfg)
    (check,) = verify_pdf(signed_bytes)  # no trust roots given
    assert check.intact and check.valid and check.covers_whole_file and not check.trusted


def test_signing_configuration_errors(tmp_path, test_keys, monkeypatch):
    assert SigningConfig.from_settings({}, tmp_path) is None
    assert SigningConfig.from_settings({"enabled": False, "pkcs12": "x"}, tmp_path) is None
    with pytest.raises(ConfigError, match="unknown setting"):
        SigningConfig.from_settings({"pkcs12": str(test_keys.p12), "pasphrase": "x"}, tmp_path)
    with pytest.raises(ConfigError, match="either 'pkcs12'"):
        SigningConfig.from_settings({"key": str(test_keys.key)}, tmp_path)
    with pytest.raises(ConfigError, match="not found"):
        SigningConfig.from_settings({"pkcs12": "missing.p12"}, tmp_path)
    os.mkfifo(tmp_path / "pipe.p12")
    with pytest.raises(ConfigError, match="not a regular file"):
        SigningConfig.from_settings({"pkcs12": "pipe.p12"}, tmp_path)
    (tmp_path / "huge.pem").write_bytes(b"-" * (2 * 1024 * 1024))
    with pytest.raises(ConfigError, match="larger than 1024 KiB"):
        SigningConfig.from_settings({"key": str(test_keys.key), "cert": "huge.pem"}, tmp_path)
    monkeypatch.delenv("PMO_NO_SUCH_VAR", raising=False)
    with pytest.raises(ConfigError, match="PMO_NO_SUCH_VAR"):
        SigningConfig.from_settings({"pkcs12": str(test_keys.p12), "passphrase_env": "PMO_NO_SUCH_VAR"}, tmp_path)
    project = closed(load_sample("en"))
    ctx = make_ctx(tmp_path / "ws", project, signing={"pkcs12": str(test_keys.p12), "passphrase": "wrong"})
    with pytest.raises(ConfigError, match="cannot load"):
        issue_document(ctx, project.code, "handover", out_dir=tmp_path / "out")
    assert ctx.store.documents(project.code) == []
