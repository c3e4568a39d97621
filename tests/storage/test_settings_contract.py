"""The shared-settings part of the storage contract (pushes every worker reads), on the in-memory fake,
SQLite and PostgreSQL: append-only, newest in force, chained by hash so an edited push is named."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

from lifecycle.storage.protocol import verify_settings

NOW = datetime(2026, 2, 1, 9, 30, tzinfo=timezone.utc)


def test_pushes_are_kept_in_order_and_the_newest_is_in_force(store):
    assert store.shared_settings() is None and store.settings_history() == []
    first = store.push_settings(
        {"smtp": {"host": "mail.example", "port": 25, "password_env": "PMO_SMTP_PASSWORD"}}, actor="pat@x", at=NOW
    )
    assert (first.seq, first.prev_hash, first.actor, first.at) == (1, "", "pat@x", NOW)
    second = store.push_settings(
        {"smtp": {"host": "mail2.example"}, "base_url": "https://pmo.example"}, actor="ann@x", at=NOW + timedelta(1)
    )
    assert second.seq == 2 and second.prev_hash == first.hash and second.hash != first.hash
    now = store.shared_settings()
    assert now == second and now.values == {"smtp": {"host": "mail2.example"}, "base_url": "https://pmo.example"}
    history = store.settings_history()
    assert history == [first, second] and verify_settings(history) == []
    assert history[0].values["smtp"]["password_env"] == "PMO_SMTP_PASSWORD"


def test_a_changed_or_missing_push_is_named(store):
    for i in range(3):
        store.push_settings({"base_url": f"https://pmo{i}.example"}, actor="pat@x", at=NOW + timedelta(minutes=i))
    history = store.settings_history()
    edited = [history[0], dataclasses.replace(history[1], values={"base_url": "https://evil.example"}), history[2]]
    assert verify_settings(edited) == ["settings push 2 was changed after it was recorded"]
    assert verify_settings([history[0], history[2]]) == ["settings push 2 is missing (found 3)"]
