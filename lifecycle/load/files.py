"""Reading a user's file: regular files only, size-limited, never blocking.

Every reader of a file a user names (project files, rule packs, MSPDI, CSV, workbooks, a PDF given
to ``pmo docs verify``) goes through :func:`read_regular`: the file is opened without blocking (a
named pipe with no writer would otherwise hang), checked with ``fstat`` on the open descriptor (a
pipe, a device such as ``/dev/zero``, a socket or a folder is refused), and read up to its limit
(:mod:`lifecycle.domain.limits`) plus one byte, so a file that grows while read is refused too.
Problems are a :class:`~lifecycle.errors.SpecError` naming the file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from lifecycle.domain.limits import MAX_FILE_BYTES
from lifecycle.errors import Problem, SpecError

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _refuse(path: str | Path, message: str) -> SpecError:
    return SpecError([Problem(str(path), None, "", message)], "cannot read the file, nothing was written")


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit:,} bytes"


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_regular(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file ``path``; SpecError for anything else or anything larger."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise _refuse(path, "file not found") from None
    except IsADirectoryError:
        raise _refuse(path, "is a folder, not a regular file") from None
    except PermissionError:
        raise _refuse(path, "permission denied") from None
    except OSError as exc:
        raise _refuse(path, f"cannot open: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(path, f"is {_kind(info.st_mode)}, not a regular file")
        if info.st_size > max_bytes:
            raise _refuse(path, f"the file is larger than {_size(max_bytes)}")
        chunks = []
        left = max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise _refuse(path, f"cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise _refuse(path, f"the file is larger than {_size(max_bytes)}")
    return data


def read_regular_text(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a regular file (a leading byte-order mark is dropped)."""
    data = read_regular(path, max_bytes)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SpecError(
            [Problem(str(path), line, "", "not UTF-8 text")], "cannot read the file, nothing was written"
        ) from None
