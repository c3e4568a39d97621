"""SQLAlchemy tables for the model, derived from the dataclasses' field descriptions.

Each collection of ``SECTIONS`` gets a table (``project_id``, ``key`` = the entity id, ``position``
= order in the project file, then one column per field); the charter's fields are columns of
``projects``. Scalars get typed columns (money is ``Numeric(18, 2)``, dates ``Date``); lists and nested
objects are JSON. Deriving the tables keeps model and schema in step; the Alembic migrations are
still written out and committed, so a model change needs a new migration (a test compares the two).
The store reads with plain SQL over the same column lists (``SECTION_COLUMNS`` and ``HEAD_COLUMNS`` of
:mod:`lifecycle.storage.sql`), and writes through these tables.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from lifecycle.domain.fields import FieldInfo, fields_of
from lifecycle.domain.model import SECTIONS, Charter
from lifecycle.storage.sql import MONEY_SCALE
from lifecycle.storage.sql import SCHEMA_REVISION as SCHEMA_REVISION

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

# SCHEMA_REVISION (imported above) is the Alembic revision these tables correspond to; it lives with the
# store, which checks it on open without importing SQLAlchemy. A test checks it is the migrations' head.


def column_type(info: FieldInfo) -> Any:
    return {
        "str": Text(),
        "enum": String(40),
        "int": Integer(),
        "float": Float(),
        "bool": Boolean(),
        "date": Date(),
        "datetime": DateTime(timezone=True),
        "money": Numeric(18, MONEY_SCALE),
    }.get(info.kind, JSON())


def data_columns(cls: type, skip: tuple[str, ...] = ("id",)) -> list[Column[Any]]:
    return [Column(info.name, column_type(info), nullable=True) for info in fields_of(cls) if info.name not in skip]


projects = Table(
    "projects",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("code", String(40), nullable=False, unique=True),
    Column("phase", String(60), nullable=False),
    Column("phase_before_hold", String(60), nullable=False, default=""),
    Column("version", Integer, nullable=False),
    Column("calendar", JSON, nullable=False),
    Column("audit_seq", Integer, nullable=False, default=0),
    Column("audit_head", String(64), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    *data_columns(Charter, skip=("code",)),
)

section_tables: dict[str, Table] = {}
for _name, _cls in SECTIONS.items():
    section_tables[_name] = Table(
        _name,
        metadata,
        Column("pk", Integer, primary_key=True, autoincrement=True),
        Column("project_id", Integer, ForeignKey("projects.pk", ondelete="CASCADE"), nullable=False),
        Column("key", String(200), nullable=False),
        Column("position", Integer, nullable=False),
        *data_columns(_cls),
        UniqueConstraint("project_id", "key", name=f"uq_{_name}_project_key"),
    )

records = Table(
    "records",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("project_id", Integer, ForeignKey("projects.pk", ondelete="CASCADE"), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("key", String(200), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("project_id", "kind", "key", name="uq_records_project_kind_key"),
)

documents = Table(
    "documents",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("id", String(120), nullable=False, unique=True),
    Column("project_id", Integer, ForeignKey("projects.pk", ondelete="CASCADE"), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("number", String(120), nullable=False),
    Column("path", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("lang", String(10), nullable=False),
    Column("pack_hash", String(64), nullable=False),
    Column("signed", Boolean, nullable=False),
    Column("subject", Text, nullable=False),
    Column("record", JSON, nullable=False),
    Column("revision", Integer, nullable=False, server_default="1"),
    Index("ix_documents_sha256", "sha256"),
    UniqueConstraint("project_id", "number", "revision", name="uq_documents_project_number_revision"),
)

document_files = Table(
    "document_files",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("document_pk", Integer, ForeignKey("documents.pk", ondelete="CASCADE"), nullable=False, unique=True),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("project_id", Integer, ForeignKey("projects.pk", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(80), nullable=False),
    Column("entity", String(80), nullable=False),
    Column("entity_id", String(200), nullable=False),
    Column("data", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("state", JSON, nullable=True),  # migration 0008: see lifecycle.storage.anchor
    Column("state_hash", String(64), nullable=False, server_default=""),
    Column("mac", String(64), nullable=False, server_default=""),
    UniqueConstraint("project_id", "seq", name="uq_audit_events_project_seq"),
)

derived = Table(
    "derived",
    metadata,
    Column("project_id", Integer, ForeignKey("projects.pk", ondelete="CASCADE"), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("key", String(64), nullable=False),
    Column("data", JSON, nullable=False),
    Column("stored_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("project_id", "kind"),
)

# ---------------------------------------------------------------- identity (migration 0003)
users = Table(
    "users",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("locale", String(10), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("global_roles", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def _credential_table(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("token_hash", String(64), primary_key=True),
        Column("user_id", String(40), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        Column("name", Text, nullable=False),
        Column("auth_method", String(20), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("expires_at", DateTime(timezone=True), nullable=False),
        Column("last_seen", DateTime(timezone=True), nullable=False),
        Index(f"ix_{name}_user_id", "user_id"),
    )


sessions = _credential_table("sessions")
api_tokens = _credential_table("api_tokens")

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("key", String(400), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_login_attempts_key_at", "key", "at"),
)

client_links = Table(
    "client_links",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("document_id", String(120), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
)

# ---------------------------------------------------------------- e-mail outbox (migration 0007)
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("project_id", Integer, ForeignKey("projects.pk", ondelete="CASCADE"), nullable=False),
    Column("document_id", String(120), nullable=False),
    Column("number", String(120), nullable=False),
    Column("recipients", JSON, nullable=False),
    Column("subject", Text, nullable=False),
    Column("message_id", String(300), nullable=False),
    Column("state", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("requested_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_outbox_project_id_state", "project_id", "state"),
)


# ---------------------------------------------------------------- shared settings (migration 0009)
shared_settings = Table(
    "shared_settings",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("data", JSON, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
