"""Files named by project data are read only inside the documents root: the ``file_sha256`` quality check
refuses absolute paths elsewhere, ``..``, ``~``, links out of the root, ``/proc`` entries, FIFOs and files
over the size limit, each as a failed check with a reason, never an exception or a hang, and its
evidence (printed in the client's certificate) names files relative to the root, never a server folder
or the hash of a file outside the root."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from lifecycle.domain.model import replace
from lifecycle.services.files import check_file, relative_name
from lifecycle.services.quality import run_quality_checks
from tests.flows.conftest import open_ctx, sample_project, today_env


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "files"  # the documents root of make_workspace


@pytest.fixture
def check(make_workspace: Any, tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """check(file, sha256, **settings): the QS-FILE evidence of deliverable D1 recording ``file``."""
    today_env(monkeypatch)
    monkeypatch.chdir(root.parent)  # today's lookup also tried the current folder

    def run(file: str, sha256: str, **settings: Any) -> tuple[str, str]:
        project = sample_project(root)
        d1, d2 = project.deliverables
        project = replace(project, deliverables=(replace(d1, file=file, sha256=sha256), d2))
        ws = make_workspace(project=project)
        if settings:
            data = yaml.safe_load((ws / "settings.yaml").read_text(encoding="utf-8"))
            (ws / "settings.yaml").write_text(yaml.safe_dump({**data, **settings}), encoding="utf-8")
        ctx = open_ctx(ws)
        try:
            [qc] = [c for c in run_quality_checks(ctx, "DEMO-1", ["D1"]) if c.standard == "QS-FILE"]
        finally:
            ctx.close()
        assert str(tmp_path) not in qc.evidence and str(root) not in qc.evidence
        return qc.result, qc.evidence

    return run


def test_a_file_outside_the_root_is_refused_and_not_hashed(check, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"s3cret")
    result, evidence = check(str(secret), _sha(b"s3cret"))
    assert result == "fail" and evidence.startswith("file secret.txt: outside the documents root")
    assert _sha(b"s3cret")[:16] not in evidence and "bytes" not in evidence


def test_dot_dot_is_refused(check, tmp_path):
    (tmp_path / "secret.txt").write_bytes(b"s3cret")
    result, evidence = check("../secret.txt", _sha(b"s3cret"))
    assert result == "fail" and evidence.startswith("file secret.txt: leaves the documents root ('..')")


def test_home_folders_are_not_looked_in(check):
    result, evidence = check("~/.ssh/id_rsa", "0" * 64)
    assert result == "fail" and "home folders are not looked in" in evidence


def test_proc_entries_are_refused(check):
    result, evidence = check("/proc/self/environ", "0" * 64)
    assert result == "fail" and evidence.startswith("file environ: outside the documents root")
    assert "/proc" not in evidence


def test_a_link_leading_out_of_the_root_is_refused(check, tmp_path, root):
    (tmp_path / "secret.txt").write_bytes(b"s3cret")
    root.mkdir(parents=True, exist_ok=True)
    (root / "notes.txt").symlink_to(tmp_path / "secret.txt")
    result, evidence = check("notes.txt", _sha(b"s3cret"))
    assert result == "fail" and evidence.startswith("file notes.txt: a symbolic link leading out of the documents root")


def test_a_link_inside_the_root_is_followed(check, root):
    root.mkdir(parents=True, exist_ok=True)
    (root / "drop").mkdir()
    (root / "drop" / "alias.pdf").symlink_to(root / "design.pdf")
    result, evidence = check("drop/alias.pdf", _sha(b"%PDF-1.4 design document v3\n"))
    assert result == "pass" and evidence.startswith("file drop/alias.pdf (28 bytes) matches")


def test_an_absolute_path_inside_the_root_prints_relative(check, root):
    result, evidence = check(str(root / "design.pdf"), _sha(b"%PDF-1.4 design document v3\n"))
    assert result == "pass" and evidence.startswith("file design.pdf (28 bytes) matches")


def test_a_fifo_is_refused_without_waiting_for_a_writer(check, root):
    root.mkdir(parents=True, exist_ok=True)
    os.mkfifo(root / "pipe.bin")
    got: list[tuple[str, str]] = []
    worker = threading.Thread(target=lambda: got.append(check("pipe.bin", "0" * 64)), daemon=True)
    worker.start()
    worker.join(20)
    if worker.is_alive():
        with open(root / "pipe.bin", "wb"):
            pass  # release today's blocked reader
        worker.join(20)
        pytest.fail("the quality check hung on a FIFO")
    [(result, evidence)] = got
    assert result == "fail" and evidence.startswith("file pipe.bin: not a regular file")


def test_files_over_the_limit_are_refused_before_reading(check):
    result, evidence = check("design.pdf", _sha(b"%PDF-1.4 design document v3\n"), max_file_bytes=10)
    assert result == "fail" and evidence.startswith("file design.pdf: larger than 10 bytes")


def test_a_missing_root_says_so_without_naming_it(check, tmp_path):
    result, evidence = check("design.pdf", "0" * 64, deliverables_dir=str(tmp_path / "nowhere"))
    assert result == "fail" and evidence.startswith("file design.pdf: the documents root does not exist")


def test_chinese_evidence_names_the_problem(make_workspace, tmp_path, root, monkeypatch):
    today_env(monkeypatch)
    project = sample_project(root, locale="zh-CN")
    d1, d2 = project.deliverables
    project = replace(project, deliverables=(replace(d1, file="/etc/hostname"), d2))
    ctx = open_ctx(make_workspace(project=project))
    try:
        [qc] = [c for c in run_quality_checks(ctx, "DEMO-1", ["D1"]) if c.standard == "QS-FILE"]
    finally:
        ctx.close()
    assert qc.result == "fail" and qc.evidence.startswith("文件 hostname：拒绝读取（outside the documents root）")


@pytest.mark.parametrize(
    ("raw", "rel"),
    [
        ("design.pdf", "design.pdf"),
        ("./drop//app.zip", "drop/app.zip"),
        ("drop\\app.zip", "drop/app.zip"),
        ("/srv/docs/drop/app.zip", "drop/app.zip"),
        ("/srv/docs", ""),
        ("/srv/docs-other/app.zip", ""),
        ("drop/../../x", ""),
        ("a\x00b", ""),
        ("", ""),
    ],
)
def test_relative_names(raw, rel):
    assert relative_name(Path("/srv/docs"), raw)[0] == rel


def test_reading_is_capped_at_the_limit_even_for_a_growing_file(tmp_path):
    (tmp_path / "f.bin").write_bytes(b"x" * 100)
    assert check_file(tmp_path, "f.bin", 100).sha256 == _sha(b"x" * 100)
    got = check_file(tmp_path, "f.bin", 99)
    assert got.problem == "too_large" and got.sha256 == ""
    dev = check_file(Path("/dev"), "zero", 1 << 20)
    assert dev.problem == "refused" and dev.reason == "not a regular file"
