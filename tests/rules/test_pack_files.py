"""A rule pack's files are checked before any is read or hashed: links leaving the pack folder, links to
folders, FIFOs and devices, and oversized files are problems naming the file (exit 2 from the CLI),
never a read of a server file, a hang or a memory spike; the hash of an ordinary pack is unchanged."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from lifecycle.cli.main import cli
from lifecycle.errors import SpecError
from lifecycle.load import packfiles
from lifecycle.load.rulepack import load_pack, pack_hash

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PACK = ROOT / "rules" / "default"


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    folder = tmp_path / "pack"
    shutil.copytree(DEFAULT_PACK, folder)
    return folder


def _problems(folder: Path) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as exc:
        load_pack(folder)
    return [(p.file, p.message) for p in exc.value.problems]


def test_the_hash_of_an_ordinary_pack_is_what_it_always_was():
    h = hashlib.sha256()
    for p in sorted((q for q in DEFAULT_PACK.rglob("*") if q.is_file()), key=lambda q: q.as_posix()):
        rel = p.relative_to(DEFAULT_PACK)
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            continue
        data = p.read_bytes()
        h.update(f"{rel.as_posix()}\0{len(data)}\0".encode())
        h.update(data)
    assert pack_hash(DEFAULT_PACK) == h.hexdigest() == load_pack(DEFAULT_PACK).hash


def test_a_link_leaving_the_pack_is_refused_and_not_read(pack, tmp_path):
    outside = tmp_path / "elsewhere.yaml"
    shutil.copy(pack / "gates" / "planning.yaml", outside)  # a valid gate file: only the link is wrong
    (pack / "gates" / "planning.yaml").unlink()
    (pack / "gates" / "planning.yaml").symlink_to(outside)
    assert _problems(pack) == [
        (f"{pack}/gates/planning.yaml", "a symbolic link leaving the rule pack folder: not read")
    ]


def test_a_link_to_a_folder_is_refused(pack):
    (pack / "more").symlink_to(pack / "gates")  # inside the pack, but a second way to the same files
    assert _problems(pack) == [(f"{pack}/more", "a symbolic link to a folder: a rule pack holds its files itself")]


def test_a_link_inside_the_pack_counts_as_the_file_it_names(pack):
    before = pack_hash(pack)
    (pack / "NOTES.md").write_text("notes\n", encoding="utf-8")
    with_file = pack_hash(pack)
    (pack / "NOTES.md").rename(pack / "notes-real.md")
    (pack / "NOTES.md").symlink_to(pack / "notes-real.md")
    loaded = load_pack(pack)
    assert "NOTES.md" in loaded.files and before != loaded.hash != with_file


def test_a_fifo_is_refused_without_opening_it(pack):
    os.mkfifo(pack / "pipe.md")
    done: list[object] = []
    worker = threading.Thread(target=lambda: done.append(_problems(pack)), daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():  # today's code blocks opening the FIFO: release it, then fail
        with open(pack / "pipe.md", "wb"):
            pass
        pytest.fail("loading a pack with a FIFO hung")
    assert done == [[(f"{pack}/pipe.md", "not a regular file (a device, FIFO or socket): not read")]]


def test_a_dangling_link_is_a_problem(pack):
    (pack / "gone.md").symlink_to(pack / "nowhere.md")
    [(file, message)] = _problems(pack)
    assert file == f"{pack}/gone.md" and message.startswith("cannot be read (FileNotFoundError")


def test_an_oversized_file_is_refused_before_it_is_read(pack, monkeypatch):
    big = pack / "attachments.bin"
    with big.open("wb") as fh:
        fh.truncate(packfiles.MAX_FILE_BYTES + 1)  # sparse: no disk used
    read: list[Path] = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self) or real(self))
    size = f"{packfiles.MAX_FILE_BYTES + 1:,}"
    assert _problems(pack) == [
        (f"{pack}/attachments.bin", f"{size} bytes: a rule pack file may hold at most 4,194,304")
    ]
    assert big not in read


def test_too_many_files_and_too_many_bytes(pack, monkeypatch):
    monkeypatch.setattr(packfiles, "MAX_FILES", 3)
    monkeypatch.setattr(packfiles, "MAX_TOTAL_BYTES", 1000)
    messages = [m for _, m in _problems(pack)]
    assert any(m.endswith("files: a rule pack may hold at most 3") for m in messages)
    assert any(m.endswith("bytes: a rule pack may hold at most 1,000") for m in messages)


def test_the_cli_names_the_file_and_exits_2(pack, tmp_path):
    (pack / "secret.yaml").symlink_to("/etc/hostname")
    res = CliRunner().invoke(cli, ["rules", "lint", str(pack)])
    assert res.exit_code == 2, res.output
    assert f"{pack}/secret.yaml" in res.output and "leaving the rule pack folder" in res.output
