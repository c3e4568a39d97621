"""PAdES signing and signature verification of client documents (pyHanko).

Signing is configured per workspace in ``settings.yaml``::

    signing:
      pkcs12: keys/signer.p12          # a PKCS#12 archive ...
      passphrase_env: PMO_SIGNING_PASSPHRASE
      # ... or a PEM/DER key and certificate:
      # key: keys/signer.key
      # cert: keys/signer.crt
      # key_passphrase_env: PMO_SIGNING_KEY_PASSPHRASE
      chain: [keys/issuing-ca.crt]     # optional extra certificates embedded in the signature
      trust_roots: [keys/root-ca.crt]  # what `verify` trusts; default: the signing certificate
      reason: Issued for client acceptance
      location: Hangzhou

Passphrases come from environment variables (``passphrase_env``) so settings files hold no secret;
a literal ``passphrase`` is accepted for tests. Paths are relative to the workspace folder.

Signatures are invisible, PAdES (``ETSI.CAdES.detached``) with SHA-256, added as an incremental
update, so the PDF/A markers and the attached record of the rendered file stay intact. pyHanko's
synchronous API starts its own event loop; when the caller already runs one (an async flow) the work
is moved to a short-lived thread instead of failing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import io
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from lifecycle.domain.limits import MAX_KEY_FILE_BYTES
from lifecycle.errors import ConfigError, RenderError

T = TypeVar("T")

FIELD_NAME = "PMO-Signature"


@dataclass(frozen=True)
class SigningConfig:
    pkcs12: Path | None = None
    passphrase: bytes | None = None
    key: Path | None = None
    cert: Path | None = None
    key_passphrase: bytes | None = None
    chain: tuple[Path, ...] = ()
    trust_roots: tuple[Path, ...] = ()
    reason: str = ""
    location: str = ""
    contact: str = ""

    @classmethod
    def from_settings(cls, data: Mapping[str, Any] | None, root: Path) -> SigningConfig | None:
        """The workspace's signing configuration, or None when signing is not configured."""
        if not data or data.get("enabled") is False:
            return None
        known = {
            "pkcs12",
            "passphrase",
            "passphrase_env",
            "key",
            "cert",
            "key_passphrase",
            "key_passphrase_env",
            "chain",
            "trust_roots",
            "reason",
            "location",
            "contact",
            "enabled",
        }
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"signing: unknown setting(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")

        def path(value: Any) -> Path:
            p = Path(str(value)).expanduser()
            return p if p.is_absolute() else root / p

        def secret(name: str) -> bytes | None:
            env = data.get(f"{name}_env")
            if env:
                value = os.environ.get(str(env))
                if value is None:
                    raise ConfigError(f"signing: environment variable {env} (signing.{name}_env) is not set")
                return value.encode()
            literal = data.get(name)
            return str(literal).encode() if literal not in (None, "") else None

        def paths(value: Any) -> tuple[Path, ...]:
            if not value:
                return ()
            return tuple(path(v) for v in (value if isinstance(value, (list, tuple)) else [value]))

        cfg = cls(
            pkcs12=path(data["pkcs12"]) if data.get("pkcs12") else None,
            passphrase=secret("passphrase"),
            key=path(data["key"]) if data.get("key") else None,
            cert=path(data["cert"]) if data.get("cert") else None,
            key_passphrase=secret("key_passphrase"),
            chain=paths(data.get("chain")),
            trust_roots=paths(data.get("trust_roots")),
            reason=str(data.get("reason") or ""),
            location=str(data.get("location") or ""),
            contact=str(data.get("contact") or ""),
        )
        if cfg.pkcs12 is None and (cfg.key is None or cfg.cert is None):
            raise ConfigError("signing: give either 'pkcs12' or both 'key' and 'cert'")
        for p in (cfg.pkcs12, cfg.key, cfg.cert, *cfg.chain, *cfg.trust_roots):
            if p is not None:
                _check_key_file(p)
        return cfg


def _check_key_file(p: Path) -> None:
    """A key or certificate file must be a regular file of a key's size (a pipe or a device would
    hang the reader, a huge file exhaust memory)."""
    if not p.is_file():
        raise ConfigError(f"signing: file not found: {p}" + ("" if not p.exists() else " (not a regular file)"))
    if p.stat().st_size > MAX_KEY_FILE_BYTES:
        raise ConfigError(f"signing: {p} is larger than {MAX_KEY_FILE_BYTES // 1024} KiB: not a key or certificate")


def _run(fn: Callable[[], T]) -> T:
    """Run pyHanko's sync API (which calls asyncio.run) even from inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()


def _load_certs(paths: Sequence[Path]) -> list[Any]:
    from pyhanko.keys import load_certs_from_pemder

    out: list[Any] = []
    for p in paths:
        out.extend(load_certs_from_pemder([str(p)]))  # type: ignore[no-untyped-call]
    return out


def load_signer(cfg: SigningConfig) -> Any:
    """A pyHanko ``SimpleSigner`` from the PKCS#12 archive or the PEM key and certificate."""
    from pyhanko.sign import signers

    chain = _load_certs(cfg.chain)
    try:
        if cfg.pkcs12 is not None:
            return signers.SimpleSigner.load_pkcs12_data(
                cfg.pkcs12.read_bytes(), other_certs=chain, passphrase=cfg.passphrase
            )
        from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        assert cfg.key is not None and cfg.cert is not None
        key = load_private_key_from_pemder(str(cfg.key), passphrase=cfg.key_passphrase)
        cert = load_cert_from_pemder(str(cfg.cert))  # type: ignore[no-untyped-call]
        registry = SimpleCertificateStore.from_certs(chain)  # type: ignore[no-untyped-call]
        return signers.SimpleSigner(signing_cert=cert, signing_key=key, cert_registry=registry)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"signing: cannot load the signing key and certificate: {exc}") from exc


def sign_pdf(pdf: bytes, cfg: SigningConfig, *, signer: Any = None) -> bytes:
    """``pdf`` with an invisible PAdES signature appended as an incremental update."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    signer = signer or load_signer(cfg)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=cfg.reason or None,
        location=cfg.location or None,
        contact_info=cfg.contact or None,
    )

    def work() -> bytes:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        out = signers.sign_pdf(writer, meta, signer=signer, output=io.BytesIO())
        return bytes(out.getvalue())

    try:
        return _run(work)
    except Exception as exc:  # pyHanko raises several unrelated types
        raise RenderError(f"could not sign the document: {type(exc).__name__}: {exc}") from exc


@dataclass(frozen=True)
class SignatureCheck:
    """One embedded signature, as verified."""

    field: str
    signer: str
    intact: bool  # the signed bytes hash to the value in the signature
    valid: bool  # the cryptographic signature over that hash is correct
    trusted: bool  # the signer's certificate chains to a configured trust root
    covers_whole_file: bool  # nothing was appended after the signature
    signing_time: str
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.covers_whole_file

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "signer": self.signer,
            "intact": self.intact,
            "valid": self.valid,
            "trusted": self.trusted,
            "covers_whole_file": self.covers_whole_file,
            "signing_time": self.signing_time,
            "ok": self.ok,
            "problem": self.problem,
        }


def trust_roots_for(cfg: SigningConfig | None) -> list[Any]:
    """What verification trusts: the configured roots, else the workspace's own signing certificate."""
    if cfg is None:
        return []
    if cfg.trust_roots:
        return _load_certs(cfg.trust_roots)
    if cfg.cert is not None:
        return _load_certs([cfg.cert])
    return [load_signer(cfg).signing_cert]


def verify_pdf(pdf: bytes, trust_roots: Sequence[Any] = ()) -> list[SignatureCheck]:
    """Every signature in ``pdf`` checked for integrity, coverage and trust (empty: unsigned).

    ``trust_roots`` are certificates (or certificate files); with none, a signature can be intact and
    valid but is never reported as trusted.
    """
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = list(reader.embedded_signatures)
    except Exception as exc:  # a file too damaged to parse has no verifiable signature
        return [
            SignatureCheck(
                field="",
                signer="",
                intact=False,
                valid=False,
                trusted=False,
                covers_whole_file=False,
                signing_time="",
                problem=f"the file cannot be parsed: {type(exc).__name__}: {exc}",
            )
        ]
    roots = [r for r in trust_roots if not isinstance(r, (str, Path))]
    roots += _load_certs([Path(r) for r in trust_roots if isinstance(r, (str, Path))])
    checks = []
    for sig in embedded:
        try:
            signer_cert = sig.signer_cert
            vc = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
            status: Any = _run(functools.partial(validate_pdf_signature, sig, vc))
            time = status.signer_reported_dt.isoformat() if status.signer_reported_dt else ""
            checks.append(
                SignatureCheck(
                    field=str(sig.field_name),
                    signer=signer_cert.subject.human_friendly,
                    intact=bool(status.intact),
                    valid=bool(status.valid),
                    trusted=bool(status.trusted),
                    covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
                    signing_time=time,
                )
            )
        except Exception as exc:
            checks.append(
                SignatureCheck(
                    field=str(getattr(sig, "field_name", "")),
                    signer="",
                    intact=False,
                    valid=False,
                    trusted=False,
                    covers_whole_file=False,
                    signing_time="",
                    problem=f"{type(exc).__name__}: {exc}",
                )
            )
    return checks
