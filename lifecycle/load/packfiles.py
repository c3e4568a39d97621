"""The files of a rule pack, checked before any is read, and the pack's content hash.

A rule pack is a folder of small text files, so the scan is strict: only regular files count; a
symbolic link is followed only to a regular file inside the pack (a link to a folder, to a file
outside the pack, to a device or a FIFO is a problem naming the file); hidden files and folders and
``__pycache__`` are left out; each file is at most :data:`MAX_FILE_BYTES`, the pack at most
:data:`MAX_FILES` files and :data:`MAX_TOTAL_BYTES` in all. Problems come back as a
:class:`~lifecycle.errors.SpecError` naming each file, so a bad pack is refused before a single YAML
file is parsed, and a pack cannot make the loader read (or hash) anything outside its folder.

The hash is the sha256 over the sorted relative paths, sizes and bytes of the pack's files, read in
blocks; it is the same value earlier versions recorded for the same files, so gate reviews stay
traceable.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lifecycle.errors import Problem, SpecError

MAX_FILE_BYTES = 4 << 20  # 4 MiB: the largest shipped pack file is a few KiB
MAX_FILES = 2000
MAX_TOTAL_BYTES = 64 << 20
_BLOCK = 1 << 16


@dataclass(frozen=True)
class PackFile:
    rel: str  # path inside the pack, with forward slashes
    path: Path  # where its bytes are (a link's target, inside the pack)
    size: int


def _skipped(name: str) -> bool:
    return name.startswith(".") or name == "__pycache__"


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _check_entry(entry: Path, rel: str, root: Path) -> tuple[PackFile | None, str]:
    """The file at ``entry`` (a link resolved), or why it is refused."""
    try:
        info = entry.lstat()
        if stat.S_ISLNK(info.st_mode):
            target = entry.resolve(strict=True)
            if not _inside(target, root):
                return None, "a symbolic link leaving the rule pack folder: not read"
            info = target.stat()
            entry = target
    except (OSError, RuntimeError) as exc:  # a dangling or looping link
        return None, f"cannot be read ({exc.__class__.__name__}: {exc})"
    if stat.S_ISDIR(info.st_mode):
        return None, "a symbolic link to a folder: a rule pack holds its files itself"
    if not stat.S_ISREG(info.st_mode):
        return None, "not a regular file (a device, FIFO or socket): not read"
    if info.st_size > MAX_FILE_BYTES:
        return None, f"{info.st_size:,} bytes: a rule pack file may hold at most {MAX_FILE_BYTES:,}"
    return PackFile(rel, entry, info.st_size), ""


def scan_pack(folder: str | Path, display: str = "") -> list[PackFile]:
    """Every file of the pack in ``folder``, checked, sorted by relative path; SpecError naming each problem."""
    top = Path(folder)
    root = top.resolve()
    shown = (display or str(folder)).rstrip("/")
    files: list[PackFile] = []
    problems: list[Problem] = []
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not _skipped(d))
        links = [d for d in dirnames if (here / d).is_symlink()]
        dirnames[:] = [d for d in dirnames if d not in links]
        for name in sorted(n for n in [*filenames, *links] if not _skipped(n)):
            rel = (here / name).relative_to(top).as_posix()
            found, why = _check_entry(here / name, rel, root)
            if found is None:
                problems.append(Problem(f"{shown}/{rel}", None, "", why))
            else:
                files.append(found)
    total = sum(f.size for f in files)
    if len(files) > MAX_FILES:
        problems.append(Problem(shown, None, "", f"{len(files):,} files: a rule pack may hold at most {MAX_FILES:,}"))
    if total > MAX_TOTAL_BYTES:
        problems.append(Problem(shown, None, "", f"{total:,} bytes: a rule pack may hold at most {MAX_TOTAL_BYTES:,}"))
    if problems:
        n = len(problems)
        raise SpecError(problems, f"rule pack {shown} has {n} problem{'s' if n != 1 else ''} in its files")
    return sorted(files, key=lambda f: f.rel)


def _feed(h: Any, f: PackFile, shown: str) -> None:
    """Hash one file's path, size and bytes, read in blocks, never more than the size it was checked at."""
    h.update(f"{f.rel}\0{f.size}\0".encode())
    left = f.size
    fd = os.open(f.path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SpecError([Problem(f"{shown}/{f.rel}", None, "", "not a regular file: not read")])
        while left > 0:
            block = os.read(fd, min(_BLOCK, left))
            if not block:
                break
            h.update(block)
            left -= len(block)
    finally:
        os.close(fd)
    if left:
        raise SpecError([Problem(f"{shown}/{f.rel}", None, "", "changed while the pack was read: load it again")])


def pack_hash(folder: str | Path, files: list[PackFile] | None = None, display: str = "") -> str:
    """sha256 over the sorted relative paths, sizes and bytes of every file of the pack (hidden files excluded)."""
    shown = (display or str(folder)).rstrip("/")
    h = hashlib.sha256()
    for f in scan_pack(folder, display) if files is None else files:
        _feed(h, f, shown)
    return h.hexdigest()
