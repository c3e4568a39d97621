"""The identity part of the storage contract, on the in-memory fake, SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from lifecycle.domain.model import AuditEvent, replace
from lifecycle.errors import ConcurrentUpdate, LinkUsed, NotFound
from lifecycle.storage.protocol import ClientLink, Credential, Record, UserRecord
from tests.factory import small_project

NOW = datetime(2026, 2, 1, 9, 30, tzinfo=timezone.utc)


def _user(uid: str = "u-1", email: str = "Pat@Example.com") -> UserRecord:
    return UserRecord(uid, email, "Pat", "en", "$argon2id$x", False, ("pmo_admin",), NOW)


def test_users_are_unique_by_lower_case_email(store):
    store.add_user(_user())
    got = store.find_user("  pat@EXAMPLE.com ")
    assert got == replace(_user(), email="pat@example.com")
    assert store.get_user("u-1") == got
    with pytest.raises(ConcurrentUpdate):
        store.add_user(_user("u-2", "PAT@example.com"))
    store.add_user(_user("u-3", "ann@example.com"))
    assert [u.email for u in store.list_users()] == ["ann@example.com", "pat@example.com"]
    assert store.find_user("nobody@example.com") is None and store.get_user("u-9") is None


def test_update_user_changes_fields_but_not_email(store):
    store.add_user(_user())
    store.update_user(replace(_user(), email="other@x", name="Pat Q", disabled=True, global_roles=("pmo_viewer",)))
    got = store.get_user("u-1")
    assert (got.email, got.name, got.disabled, got.global_roles) == ("pat@example.com", "Pat Q", True, ("pmo_viewer",))
    with pytest.raises(NotFound):
        store.update_user(_user("u-404", "x@y"))


@pytest.mark.parametrize("kind", ["session", "api_token"])
def test_credentials_round_trip_touch_and_delete(store, kind):
    store.add_user(_user())
    cred = Credential("h" * 64, "u-1", NOW, NOW + timedelta(hours=8), NOW, "password", "laptop")
    store.add_credential(kind, cred)
    assert store.get_credential(kind, "h" * 64) == cred
    other = "session" if kind == "api_token" else "api_token"
    assert store.get_credential(other, "h" * 64) is None
    store.touch_credential(kind, "h" * 64, NOW + timedelta(minutes=5))
    assert store.get_credential(kind, "h" * 64).last_seen == NOW + timedelta(minutes=5)
    store.delete_credential(kind, "h" * 64)
    assert store.get_credential(kind, "h" * 64) is None


def test_login_failures_by_key_and_window(store):
    store.add_login_failure(["email:a@x", "ip:10.0.0.1"], NOW)
    store.add_login_failure(["email:a@x"], NOW + timedelta(minutes=10))
    assert store.login_failures("email:a@x", NOW - timedelta(minutes=1)) == [NOW, NOW + timedelta(minutes=10)]
    assert store.login_failures("email:a@x", NOW + timedelta(minutes=1)) == [NOW + timedelta(minutes=10)]
    assert store.login_failures("ip:10.0.0.1", NOW) == [NOW]
    store.clear_login_failures("email:a@x")
    assert store.login_failures("email:a@x", NOW - timedelta(days=1)) == []
    assert store.login_failures("ip:10.0.0.1", NOW) == [NOW]


def _link(jti: str = "j-1") -> ClientLink:
    return ClientLink(jti, "DEMO-1-AC-001", "a" * 64, "rep@client.example", "accept", NOW + timedelta(days=14), NOW)


def test_client_link_is_used_once_with_the_project_save(store):
    saved = store.save(small_project(), expected_version=None)
    store.add_client_link(_link())
    assert store.get_client_link("j-1") == _link()
    ev = AuditEvent("DEMO-1", "client.accepted", "rep@client.example", NOW)
    rec = Record("DEMO-1", "client_signoff", "j-1", {"ip": "127.0.0.1"}, NOW)
    out = store.save_with_link(
        "j-1", NOW, replace(saved, phase="closure"), expected_version=1, events=[ev], records=[rec]
    )
    assert out.version == 2 and store.get("DEMO-1").phase == "closure"
    assert store.get_client_link("j-1").used_at == NOW
    assert store.get_record("DEMO-1", "client_signoff", "j-1").data == {"ip": "127.0.0.1"}
    with pytest.raises(LinkUsed):
        store.save_with_link("j-1", NOW, replace(out, phase="closed"), expected_version=2, events=[ev])
    assert store.get("DEMO-1").version == 2 and len(store.audit("DEMO-1")) == 1
    with pytest.raises(NotFound):
        store.save_with_link("j-404", NOW, out, expected_version=2)


def test_a_stale_project_leaves_the_link_unused(store):
    saved = store.save(small_project(), expected_version=None)
    store.save(replace(saved, phase="planning"), expected_version=1)
    store.add_client_link(_link())
    with pytest.raises(ConcurrentUpdate):
        store.save_with_link("j-1", NOW, replace(saved, phase="closure"), expected_version=1)
    assert store.get_client_link("j-1").used_at is None
    assert store.get("DEMO-1").phase == "planning"


def test_concurrent_uses_of_one_link_exactly_one_wins(store):
    saved = store.save(small_project(), expected_version=None)
    for n in range(4):
        store.add_client_link(_link(f"j-{n}"))
    results: list[str] = []
    barrier = threading.Barrier(4)

    def submit(n: int) -> None:
        barrier.wait()
        try:
            store.save_with_link(
                "j-1",
                NOW,
                replace(saved, phase=f"p{n}"),
                expected_version=1,
                events=[AuditEvent("DEMO-1", "client.accepted", f"t{n}", NOW)],
            )
            results.append("won")
        except (LinkUsed, ConcurrentUpdate):
            results.append("refused")

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == ["refused", "refused", "refused", "won"]
    assert len(store.audit("DEMO-1")) == 1 and store.get("DEMO-1").version == 2
