"""Reading YAML and JSON user files with a line number for every value.

A :class:`Source` holds the plain data of a file and a map from YAML path (a tuple of keys and
indexes) to the 1-based line where that value starts, so every later check can say
``file:line path: message``. JSON is read by the same YAML composer (JSON is YAML's flow style), so
both formats get lines. Syntax errors become a :class:`~lifecycle.errors.SpecError` naming the line.
Duplicate keys in a mapping are reported, not silently overwritten.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import yaml

from lifecycle.domain.limits import MAX_ALIASES, MAX_DEPTH, MAX_NODES, path_text, scalar_problem
from lifecycle.errors import Problem, SpecError
from lifecycle.load.files import read_regular_text

YPath = tuple[Any, ...]


format_path = path_text  # tasks[2].owner: how every problem names a field


@dataclass
class Source:
    file: str
    data: Any
    lines: dict[YPath, int] = field(default_factory=dict)

    def line(self, path: YPath) -> int | None:
        """The line of ``path`` or of its nearest ancestor that has one."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), None)

    def problem(self, path: YPath, message: str) -> Problem:
        return Problem(self.file, self.line(path), format_path(path), message)


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The C parser when PyYAML has it (about 10x faster on large files), marks included."""


class _Walk:
    """The limits of one file's structure while it is turned into plain data: nesting depth, anchors
    used (each use of an anchor is counted, so a "billion laughs" file stops early) and values in all."""

    def __init__(self, file: str, loader: _Loader):
        self.file = file
        self.loader = loader
        self.lines: dict[YPath, int] = {}
        self.problems: list[Problem] = []
        self.seen: set[int] = set()
        self.aliases = 0
        self.nodes = 0

    def refuse(self, node: yaml.Node, path: YPath, message: str) -> SpecError:
        problem = Problem(self.file, node.start_mark.line + 1, format_path(path), message)
        return SpecError([problem], "the file was refused, nothing was written")

    def count(self, node: yaml.Node, path: YPath) -> None:
        self.nodes += 1
        if isinstance(node, yaml.CollectionNode):
            if id(node) in self.seen:
                self.aliases += 1
                if self.aliases > MAX_ALIASES:
                    raise self.refuse(node, path, f"more than {MAX_ALIASES:,} uses of anchors (*name)")
            self.seen.add(id(node))
        if self.nodes > MAX_NODES:
            raise self.refuse(node, path, f"more than {MAX_NODES:,} values (anchors counted as what they repeat)")
        if len(path) > MAX_DEPTH:
            raise self.refuse(node, path, f"nested more than {MAX_DEPTH} levels deep")

    def convert(self, node: yaml.Node, path: YPath) -> Any:
        self.count(node, path)
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(v, path + (i,)) for i, v in enumerate(node.value)]
        try:
            value = self.loader.construct_object(node, deep=True)
        except ValueError:
            # e.g. 2026-02-30 looks like a date to YAML but is none: keep the text, the field check says why
            value = node.value
        problem = scalar_problem(value)
        if problem:
            self.problems.append(Problem(self.file, node.start_mark.line + 1, format_path(path), problem))
        return value

    def mapping(self, node: yaml.MappingNode, path: YPath) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        self.loader.flatten_mapping(node)
        for knode, vnode in node.value:
            line = knode.start_mark.line + 1
            if not isinstance(knode, yaml.ScalarNode):
                self.problems.append(Problem(self.file, line, format_path(path), "a key must be text"))
                continue
            key = self.loader.construct_object(knode, deep=True)
            if not isinstance(key, (str, int)):
                self.problems.append(Problem(self.file, line, format_path(path), f"key {key!r} must be text"))
                continue
            key = str(key)
            if key in out:
                self.problems.append(Problem(self.file, line, format_path(path + (key,)), f"duplicate key '{key}'"))
            out[key] = self.convert(vnode, path + (key,))
            self.lines[path + (key,)] = line  # a problem with a key points at the key
        return out


class _NotFinite(ValueError):
    """A JSON number that is no finite double; ``token`` is how the file writes it."""

    def __init__(self, token: str):
        super().__init__(f"{token} is not a finite number")
        self.token = token


def _refuse_constant(name: str) -> Any:
    raise _NotFinite(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(text)
    return value


def check_json(text: str, file: str) -> None:
    """Strict JSON: no NaN or Infinity, no number beyond a double, no trailing commas or comments
    (the YAML reader that gives lines would accept them); SpecError naming the line otherwise."""
    try:
        json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        problem = Problem(file, exc.lineno, "", f"not valid JSON: {exc.msg}")
        raise SpecError([problem], "the file could not be read, nothing was written") from None
    except _NotFinite as exc:
        found = re.search(r"(?<![\w.\"])" + re.escape(exc.token) + r"(?![\w.\"])", text)
        line = text.count("\n", 0, found.start()) + 1 if found else None
        problem = Problem(file, line, "", f"not valid JSON: {exc}")
        raise SpecError([problem], "the file could not be read, nothing was written") from None


def parse_text(text: str, file: str) -> Source:
    """Parse YAML or JSON text into a Source (a file named ``*.json`` must be strict JSON); raise
    SpecError on a syntax error or a value beyond the limits of :mod:`lifecycle.domain.limits`."""
    text = text.removeprefix("\ufeff")  # a byte-order mark is not content
    if file.lower().endswith(".json"):
        check_json(text, file)
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        last_line = text.count("\n") + (0 if text.endswith("\n") else 1)
        if exc.context_mark is not None and (mark is None or mark.line + 1 > last_line):
            mark = exc.context_mark  # "end of stream": point where the unclosed thing started
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or ""
        src_lines = text.splitlines()
        src = src_lines[line - 1] if line and 0 < line <= len(src_lines) else ""
        if "'\\t'" in problem or "\t" in problem or "\t" in src[: len(src) - len(src.lstrip())]:
            problem = "a tab character: YAML indentation must use spaces, not tabs"
        elif "mapping values are not allowed" in problem:
            problem = f"{problem} (a value that contains ': ' must be in quotes)"
        elif "end of stream" in problem and exc.context:
            problem = f"{exc.context} that is never closed"
        msg = f"not valid YAML/JSON: {problem}"
        raise SpecError([Problem(file, line, "", msg)], "the file could not be read, nothing was written") from exc
    except yaml.YAMLError as exc:
        raise SpecError([Problem(file, None, "", f"not valid YAML/JSON: {exc}")]) from exc
    if node is None:
        return Source(file, None, {(): 1})
    walk = _Walk(file, _Loader(""))
    try:
        data = walk.convert(node, ())
    except yaml.YAMLError as exc:
        raise SpecError([Problem(file, None, "", f"not valid YAML/JSON: {exc}")]) from exc
    except RecursionError:
        raise walk.refuse(node, (), f"nested more than {MAX_DEPTH} levels deep") from None
    if walk.problems:
        raise SpecError(walk.problems)
    return Source(file, data, walk.lines)


def read_source(path: str | FsPath) -> Source:
    """Parse the regular file ``path`` (size-limited, see :mod:`lifecycle.load.files`)."""
    return parse_text(read_regular_text(path), str(path))
