"""Loading rule packs: the default pack, the content hash, and a corpus of malformed packs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from lifecycle.errors import SpecError
from lifecycle.load.rulepack import load_pack, pack_hash
from tests.rules.helpers import DATA, DEFAULT_PACK

BAD = DATA / "bad_packs"


def test_default_pack_loads(default_pack):
    assert default_pack.name == "pmo-default"
    assert default_pack.lifecycle.initial == "initiation"
    assert len(default_pack.hash) == 64
    assert "lifecycle.yaml" in default_pack.files
    assert default_pack.machine.next_move("planning").name == "planning_to_execution"


def test_hash_follows_content(tmp_path):
    copy = tmp_path / "pack"
    shutil.copytree(DEFAULT_PACK, copy)
    assert pack_hash(copy) == pack_hash(DEFAULT_PACK) == load_pack(copy).hash
    gates = copy / "gates" / "closure.yaml"
    gates.write_text(gates.read_text().replace("size(lessons) > 0", "size(lessons) >= 1"))
    assert pack_hash(copy) != pack_hash(DEFAULT_PACK)
    (copy / ".hidden").write_text("ignored")
    before = pack_hash(copy)
    (copy / ".hidden").write_text("still ignored")
    assert pack_hash(copy) == before
    (copy / "gates" / "closure.yaml").rename(copy / "gates" / "closing.yaml")
    assert pack_hash(copy) != before  # paths are part of the hash


def test_not_a_folder(tmp_path):
    with pytest.raises(SpecError) as exc:
        load_pack(tmp_path / "nothing")
    assert "not a folder" in str(exc.value)


@pytest.mark.parametrize("name", sorted(p.name for p in BAD.iterdir() if p.is_dir()))
def test_malformed_pack(name):
    folder = BAD / name
    expected = yaml.safe_load((folder / "expected.yaml").read_text())["problems"]
    with pytest.raises(SpecError) as exc:
        load_pack(folder)
    got = [(Path(p.file).relative_to(folder).as_posix(), p.line, p.path, p.message) for p in exc.value.problems]
    for want in expected:
        assert any(
            f == want["file"] and line == want["line"] and path == want["path"] and want["message"] in msg
            for f, line, path, msg in got
        ), (want, got)
    assert len(got) == len(expected), got  # every problem, and nothing else
    text = str(exc.value)
    assert f"has {len(expected)} problem" in text
    first = expected[0]
    shown = f"{folder}/{first['file']}" + (f":{first['line']}" if first["line"] else "")
    assert shown in text


def test_all_problems_of_all_files_at_once(tmp_path):
    copy = tmp_path / "pack"
    shutil.copytree(DEFAULT_PACK, copy)
    planning = copy / "gates" / "planning.yaml"
    planning.write_text(
        planning.read_text()
        .replace("check: size(deliverables) > 0", "check: size(deliverabels) > 0")
        .replace("severity: warning", "severity: advisory", 1)
    )
    closure = copy / "gates" / "closure.yaml"
    closure.write_text(closure.read_text().replace("id: CLD-02", "id: CLD-01"))
    (copy / "quality" / "deliverables.yaml").write_text("standards:\n  - id: Q\n    title: x\n    kind: cell\n")
    with pytest.raises(SpecError) as exc:
        load_pack(copy)
    messages = [str(p) for p in exc.value.problems]
    assert len(messages) == 5, messages
    assert any("planning.yaml:" in m and "rules[2].check: unknown name 'deliverabels'" in m for m in messages)
    assert any("planning.yaml:" in m and "'advisory' is not one of: blocking, warning" in m for m in messages)
    assert any("closure.yaml:" in m and "duplicate rule id 'CLD-01'" in m for m in messages)
    assert any("deliverables.yaml:4 standards[0].kind" in m for m in messages)
    # the pack's own tests still name CLD-02, which no longer exists; PLN-02 (invalid) is not reported twice
    assert any("tests/closure.yaml:" in m and "rule 'CLD-02' is not in the gate" in m for m in messages)


def test_block_scalar_errors_point_at_their_line(tmp_path):
    shutil.copytree(DATA / "mini_pack", tmp_path / "p")
    (tmp_path / "p" / "gates" / "x.yaml").write_text(
        "gates:\n  finish:\n    rules:\n      - id: X\n        title: {en: x}\n        check: |\n"
        "          size(tasks) > 0 &&\n          tasks.all(t,\n            t.ownr != '')\n"
    )
    with pytest.raises(SpecError) as exc:
        load_pack(tmp_path / "p")
    (problem,) = exc.value.problems
    assert problem.line == 9 and problem.path == "gates.finish.rules[0].check"
    assert "unknown field 'ownr'" in problem.message


def test_loaded_pack_is_frozen(default_pack):
    with pytest.raises(AttributeError):
        default_pack.name = "x"  # type: ignore[misc]
    rule = default_pack.rule("PLN-04")
    assert rule.gate == "planning_to_execution" and rule.file.endswith("gates/planning.yaml") and rule.line


def test_baseline_phases(default_pack, tmp_path):
    assert default_pack.lifecycle.baseline_phases == ("execution",)
    shutil.copytree(DATA / "mini_pack", tmp_path / "p")
    lc = tmp_path / "p" / "lifecycle.yaml"
    lc.write_text(lc.read_text() + "baseline_on_entry: [wrok]\n")
    with pytest.raises(SpecError) as exc:
        load_pack(tmp_path / "p")
    (problem,) = exc.value.problems
    assert (problem.line, problem.path) == (17, "baseline_on_entry[0]")
    assert problem.message == "unknown phase 'wrok' (did you mean 'work'?)"
    assert load_pack(DATA / "mini_pack").lifecycle.baseline_phases is None
