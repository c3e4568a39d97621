"""Reader and writer of the PSPLIB single-mode ``.sm`` format of resource-constrained scheduling instances.

The benchmark sets of the resource-constrained project scheduling problem (j30, j60, j90, j120) are
published in this text format; reading it lets the levelling of :mod:`lifecycle.domain.levelling` be
measured on the instances the literature uses, and writing it lets the test suite and the benchmark
generate their own instances in the same form. The sections read are ``PRECEDENCE RELATIONS``
(job, modes, successors), ``REQUESTS/DURATIONS`` (job, mode, duration, one column per resource) and
``RESOURCEAVAILABILITIES``; only renewable resources and single-mode instances are supported, and a
file with more modes or with non-renewable resources is refused with the line that says so. Job 1
and the last job are the dummy source and sink (duration 0) and are kept as activities, so the
makespan is the sink's start.
"""

from __future__ import annotations

import re
from pathlib import Path

from lifecycle.domain.levelling import Activity, Instance, Link
from lifecycle.errors import Problem, SpecError
from lifecycle.load.files import read_regular

_NUM = re.compile(r"-?\d+")


def _ints(line: str) -> list[int]:
    return [int(x) for x in _NUM.findall(line)]


def _sections(lines: list[str]) -> dict[str, int]:
    """The line index where each known section's data starts (after its header lines)."""
    out: dict[str, int] = {}
    for k, line in enumerate(lines):
        up = line.strip().upper()
        if up.startswith("PRECEDENCE RELATIONS"):
            out["prec"] = k + 2
        elif up.startswith("REQUESTS/DURATIONS"):
            out["req"] = k + 3
        elif up.startswith("RESOURCEAVAILABILITIES"):
            out["avail"] = k + 2
    return out


def _rows(lines: list[str], start: int) -> list[tuple[int, list[int]]]:
    rows = []
    for k in range(start, len(lines)):
        if lines[k].lstrip().startswith("*"):
            break
        nums = _ints(lines[k])
        if nums:
            rows.append((k + 1, nums))
    return rows


def _check_header(lines: list[str], file: str) -> None:
    for k, line in enumerate(lines):
        low = line.lower()
        if low.strip().startswith("- nonrenewable") and _ints(line)[:1] not in ([], [0]):
            raise SpecError([Problem(file, k + 1, "", "non-renewable resources are not supported")])


def parse_sm(text: str, file: str = "<sm>") -> Instance:
    """The instance of a ``.sm`` text; SpecError naming the line when it is not one."""
    lines = text.splitlines()
    _check_header(lines, file)
    where = _sections(lines)
    missing = [name for name in ("prec", "req", "avail") if name not in where]
    if missing:
        names = {"prec": "PRECEDENCE RELATIONS", "req": "REQUESTS/DURATIONS", "avail": "RESOURCEAVAILABILITIES"}
        raise SpecError([Problem(file, None, "", f"no {names[m]} section") for m in missing])
    links: list[Link] = []
    for line_no, nums in _rows(lines, where["prec"]):
        if len(nums) < 3 or nums[1] != 1 or len(nums) != 3 + nums[2]:
            raise SpecError([Problem(file, line_no, "", "expected: job, 1 mode, number of successors, successors")])
        links += [Link(str(nums[0]), str(s)) for s in nums[3:]]
    avail_rows = _rows(lines, where["avail"])
    if not avail_rows:
        raise SpecError([Problem(file, where["avail"], "", "no resource availabilities")])
    caps = {f"R{k + 1}": float(c) for k, c in enumerate(avail_rows[0][1])}
    acts: list[Activity] = []
    for line_no, nums in _rows(lines, where["req"]):
        if len(nums) != 3 + len(caps):
            raise SpecError([Problem(file, line_no, "", f"expected: job, mode, duration and {len(caps)} requests")])
        demands = {f"R{k + 1}": float(u) for k, u in enumerate(nums[3:]) if u}
        acts.append(Activity(str(nums[0]), nums[2], demands))
    return Instance(tuple(acts), tuple(links), caps)


def read_sm(path: str | Path) -> Instance:
    text = read_regular(path).decode("utf-8", errors="replace")  # a regular file, size-limited
    return parse_sm(text, str(path))


def write_sm(instance: Instance, name: str = "generated") -> str:
    """The instance as ``.sm`` text (activity ids must be 1..n in order, as in the format)."""
    resources = sorted(instance.capacities, key=lambda r: (len(r), r))
    succs: dict[str, list[str]] = {a.id: [] for a in instance.activities}
    for lk in instance.links:
        succs[lk.pred].append(lk.succ)
    bar = "*" * 72
    out = [
        bar,
        f"file with basedata            : {name}.bas",
        bar,
        "projects                      :  1",
        f"jobs (incl. supersource/sink ):  {len(instance.activities)}",
        f"horizon                       :  {sum(a.duration for a in instance.activities)}",
        "RESOURCES",
        f"  - renewable                 :  {len(resources)}   R",
        "  - nonrenewable              :  0   N",
        "  - doubly constrained        :  0   D",
        bar,
        "PRECEDENCE RELATIONS:",
        "jobnr.    #modes  #successors   successors",
    ]
    out += [
        f"{a.id:>4}{1:>9}{len(succs[a.id]):>11}   " + "".join(f"{s:>4}" for s in succs[a.id])
        for a in instance.activities
    ]
    out += [
        bar,
        "REQUESTS/DURATIONS:",
        "jobnr. mode duration " + " ".join(f"{r[0]} {r[1:]}" for r in resources),
        "-" * 72,
    ]
    for a in instance.activities:
        req = "".join(f"{int(a.demands.get(r, 0)):>5}" for r in resources)
        out.append(f"{a.id:>3}{1:>7}{a.duration:>9}{req}")
    out += [bar, "RESOURCEAVAILABILITIES:", "  " + "  ".join(f"{r[0]} {r[1:]}" for r in resources)]
    out += ["  " + "".join(f"{int(instance.capacities[r]):>5}" for r in resources), bar]
    return "\n".join(out) + "\n"
