"""Reading YAML and JSON user files with a line number for every value.

A :class:`Source` holds the plain data of a file and a map from YAML path (a tuple of keys and
indexes) to the 1-based line where that value starts, so every later check can say
``file:line path: message``. JSON is read by the same YAML composer (JSON is YAML's flow style), so
both formats get lines. Syntax errors become a :class:`~lifecycle.errors.SpecError` naming the line.
Duplicate keys in a mapping are reported, not silently overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import yaml

from lifecycle.errors import Problem, SpecError

YPath = tuple[Any, ...]


def format_path(path: YPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


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


def _convert(
    node: yaml.Node, path: YPath, lines: dict[YPath, int], problems: list[Problem], file: str, loader: _Loader
) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        loader.flatten_mapping(node)
        for knode, vnode in node.value:
            key = loader.construct_object(knode, deep=True)
            if not isinstance(key, (str, int)):
                line = knode.start_mark.line + 1
                problems.append(Problem(file, line, format_path(path), f"key {key!r} must be text"))
                continue
            key = str(key)
            if key in out:
                problems.append(
                    Problem(file, knode.start_mark.line + 1, format_path(path + (key,)), f"duplicate key '{key}'")
                )
            out[key] = _convert(vnode, path + (key,), lines, problems, file, loader)
            lines[path + (key,)] = knode.start_mark.line + 1  # a problem with a key points at the key
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(v, path + (i,), lines, problems, file, loader) for i, v in enumerate(node.value)]
    try:
        return loader.construct_object(node, deep=True)
    except ValueError:
        # e.g. 2026-02-30 looks like a date to YAML but is none: keep the text, the field check says why
        return node.value


def parse_text(text: str, file: str) -> Source:
    """Parse YAML or JSON text into a Source; raise SpecError on a syntax error."""
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
    lines: dict[YPath, int] = {}
    problems: list[Problem] = []
    if node is None:
        return Source(file, None, {(): 1})
    try:
        loader2 = _Loader("")
        data = _convert(node, (), lines, problems, file, loader2)
    except yaml.YAMLError as exc:
        raise SpecError([Problem(file, None, "", f"not valid YAML/JSON: {exc}")]) from exc
    if problems:
        raise SpecError(problems)
    return Source(file, data, lines)


def read_source(path: str | FsPath) -> Source:
    p = FsPath(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SpecError([Problem(str(path), None, "", "file not found")], "cannot read the file") from exc
    except UnicodeDecodeError as exc:
        raise SpecError([Problem(str(path), None, "", "not UTF-8 text")], "cannot read the file") from exc
    except OSError as exc:
        raise SpecError([Problem(str(path), None, "", f"cannot read: {exc.strerror}")], "cannot read the file") from exc
    return parse_text(text, str(path))
