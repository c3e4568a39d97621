"""The bad-input corpus: every broken project file is rejected with the right file, line, path and message.

Each file in ``tests/data/bad`` is a small, otherwise valid project with exactly one mistake a user
would make. Its first comment lines say what the loader must report::

    # expect-line: 14
    # expect-path: tasks[2].owner
    # expect-message: unknown people id 'zhao'

(the message is a substring). Files that cannot carry comments (JSON, an empty file) keep the same
lines in a sidecar ``NAME.expect``. A file may also say ``# expect-xfail: why``: the expectation is
what a careful user wants, and the loader does not meet it yet; the test is then a strict xfail, so
it starts failing (XPASS) the day the loader is fixed and the marker must be removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from lifecycle.errors import SpecError
from lifecycle.load.projectfile import load_project_file

BAD = Path(__file__).parent / "data" / "bad"
PROJECT_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Expectation:
    line: int
    path: str
    message: str
    xfail: str = ""


def _expectation(file: Path) -> Expectation:
    sidecar = file.with_suffix(".expect")
    header = sidecar.read_text(encoding="utf-8") if sidecar.exists() else file.read_text(encoding="utf-8")
    values: dict[str, str] = {}
    for raw in header.splitlines():
        if not raw.startswith("#"):
            break
        text = raw[1:].strip()
        if text.startswith("expect-") and ":" in text:
            key, _, value = text.partition(":")
            values[key.removeprefix("expect-")] = value.strip()
    missing = {"line", "path", "message"} - values.keys()
    assert not missing, f"{file.name}: missing expect-{', expect-'.join(sorted(missing))}"
    return Expectation(int(values["line"]), values["path"], values["message"], values.get("xfail", ""))


def _corpus() -> list[Path]:
    return sorted(p for p in BAD.iterdir() if p.suffix in PROJECT_SUFFIXES)


def _params() -> list[object]:
    out = []
    for file in _corpus():
        exp = _expectation(file)
        marks = [pytest.mark.xfail(reason=f"loader: {exp.xfail}", strict=True)] if exp.xfail else []
        out.append(pytest.param(file, exp, id=file.name, marks=marks))
    return out


def test_corpus_is_large_enough() -> None:
    files = _corpus()
    assert len(files) >= 20
    assert any(f.suffix == ".json" for f in files)
    assert any(f.stat().st_size == 0 for f in files), "the corpus includes an empty file"


@pytest.mark.parametrize(("file", "exp"), _params())
def test_bad_file_is_rejected_where_the_mistake_is(file: Path, exp: Expectation) -> None:
    with pytest.raises(SpecError) as info:
        load_project_file(file)
    problems = info.value.problems
    assert problems, "a SpecError without problems"
    listing = "\n".join(str(p) for p in problems)
    matching = [p for p in problems if p.line == exp.line and p.path == exp.path and exp.message in p.message]
    # One mistake gives one problem; if the loader adds consequences, the mistake itself comes first.
    assert len(problems) == 1 or problems[0] in matching, f"expected {exp} first, got:\n{listing}"
    assert matching, f"expected {exp}, got:\n{listing}"
    first = problems[0]
    assert first.file == str(file)
    text = str(info.value)
    assert f"{file}:{exp.line}" in text, text
    assert exp.message in text


def test_every_file_has_exactly_one_mistake() -> None:
    """Each file reports one problem only (xfail files excepted: they may not load at all)."""
    for file in _corpus():
        exp = _expectation(file)
        if exp.xfail:
            continue
        with pytest.raises(SpecError) as info:
            load_project_file(file)
        assert len(info.value.problems) == 1, f"{file.name}: " + "; ".join(map(str, info.value.problems))
