"""Files named by project data, read only inside the workspace's documents root.

A deliverable's ``file`` (and any other file a project names) is a path relative to the documents
root (the ``deliverables_dir`` setting, default ``<workspace>/deliverables``); an absolute path is
accepted only when it lies inside that root. Nothing else on the server can be reached through
project data:

* ``..`` components, ``~``, NUL characters and absolute paths elsewhere are refused, not resolved;
* symbolic links are followed only while they stay inside the root (the path is resolved, checked,
  then opened one component at a time with ``O_NOFOLLOW`` from the root's own descriptor, so a link
  swapped in between check and open is refused too);
* only regular files are read (a FIFO, a device or ``/proc`` entry never is; the file is opened
  non-blocking), at most ``max_file_bytes`` (a setting, default 2 GiB), hashed in 1 MiB blocks.

Every outcome is a :class:`FileCheck` whose ``name`` is the path relative to the root, the only form
in which a file is ever printed (evidence, documents): a refused path is a failed check with its
reason, never an exception and never a server folder in the text.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

_BLOCK = 1 << 20


@dataclass(frozen=True)
class FileCheck:
    """What reading one named file gave: its printable name and either its hash and size or why not."""

    name: str  # relative to the documents root (or just the file name, when the path was refused)
    sha256: str = ""
    size: int = 0
    problem: str = ""  # "" when read; else one of: refused, missing, unreadable, too_large
    reason: str = ""  # in English, for logs; the quality check words its own evidence

    @property
    def ok(self) -> bool:
        return not self.problem


def _refused(raw: str, reason: str) -> FileCheck:
    name = PurePosixPath(raw.replace("\\", "/")).name or "?"
    return FileCheck(name=name, problem="refused", reason=reason)


def relative_name(root: Path, raw: str) -> tuple[str, str]:
    """``raw`` as a path relative to ``root`` (posix form), or ("", why it is refused)."""
    if not raw or "\x00" in raw:
        return "", "not a valid file name"
    text = raw.replace("\\", "/")
    if text.startswith("~"):
        return "", "home folders are not looked in: name the file relative to the documents root"
    path = PurePosixPath(text)
    if path.is_absolute():
        for base in (PurePosixPath(str(root)), PurePosixPath(os.path.realpath(root))):
            if path.is_relative_to(base) and path != base:
                path = path.relative_to(base)
                break
        else:
            return "", "outside the documents root"
    parts = [p for p in path.parts if p not in ("", ".")]
    if ".." in parts:
        return "", "leaves the documents root ('..')"
    if not parts:
        return "", "not a file name"
    return "/".join(parts), ""


def _open_inside(root_fd: int, rel: str) -> int:
    """A read descriptor for ``rel`` under ``root_fd``, no component a symbolic link (OSError if not)."""
    parts = rel.split("/")
    fd = root_fd
    try:
        for part in parts[:-1]:
            nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            if fd != root_fd:
                os.close(fd)
            fd = nxt
        return os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
    finally:
        if fd != root_fd:
            os.close(fd)


def _digest(fd: int, size: int, limit: int) -> tuple[str, int]:
    h = hashlib.sha256()
    seen = 0
    while seen <= limit:
        block = os.read(fd, min(_BLOCK, limit + 1 - seen))
        if not block:
            break
        h.update(block)
        seen += len(block)
    return h.hexdigest(), seen


def _os_problem(exc: OSError, name: str) -> FileCheck:
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return FileCheck(name=name, problem="missing", reason="not found in the documents root")
    if exc.errno == errno.ELOOP:
        return FileCheck(name=name, problem="refused", reason="a symbolic link changed while it was opened")
    return FileCheck(name=name, problem="unreadable", reason=f"cannot be read ({os.strerror(exc.errno or 0)})")


def check_file(root: Path, raw: str, limit: int) -> FileCheck:
    """Read the file ``raw`` names under the documents ``root`` (see the module docstring)."""
    rel, why = relative_name(root, raw)
    if not rel:
        return _refused(raw, why)
    real_root = os.path.realpath(root)
    target = os.path.realpath(os.path.join(real_root, rel))
    if os.path.commonpath([real_root, target]) != real_root or target == real_root:
        return FileCheck(name=rel, problem="refused", reason="a symbolic link leading out of the documents root")
    try:
        root_fd = os.open(real_root, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return FileCheck(name=rel, problem="missing", reason="the documents root does not exist")
    try:
        fd = _open_inside(root_fd, os.path.relpath(target, real_root))
    except OSError as exc:
        return _os_problem(exc, rel)
    finally:
        os.close(root_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return FileCheck(name=rel, problem="refused", reason="not a regular file")
        if info.st_size > limit:
            return FileCheck(name=rel, size=info.st_size, problem="too_large", reason=f"larger than {limit:,} bytes")
        digest, seen = _digest(fd, info.st_size, limit)
    except OSError as exc:
        return _os_problem(exc, rel)
    finally:
        os.close(fd)
    if seen > limit:
        return FileCheck(name=rel, size=seen, problem="too_large", reason=f"larger than {limit:,} bytes")
    return FileCheck(name=rel, sha256=digest, size=seen)
