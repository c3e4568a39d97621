"""Loading a PMO rule pack: YAML files in a folder -> one frozen, validated :class:`RulePack`.

A pack is a folder::

    lifecycle.yaml     name, version, initial phase, phases, transitions (with approvals), waiver policy,
                       baseline_on_entry (phases whose entry saves a baseline)
    gates/*.yaml       gates: {<gate id>: {title, rules: [{id, title, severity, when, check, evidence,
                       message, tags, source}]}}; a gate id is a transition name (or its ``gate:``)
    quality/*.yaml     standards: [{id, title, applies_to, kind: cel|file_sha256|requirements_verified|
                       defect_threshold, check, params, severity, reference}]
    tests/*.yaml       tests: [{name, fixture, patch, transition, today, waivers, votes, expect}]
                       (fixtures are project files, e.g. tests/fixtures/*.yaml)

:func:`load_pack` parses and validates everything once, before any evaluation (parse once, evaluate
many): the lifecycle's structure, unknown keys, duplicate rule ids, gates naming no transition,
severities, every CEL expression compiled and its fields checked against the facts schema, tests
naming real transitions and rules. It reports **all** problems of the pack in one
:class:`~lifecycle.errors.SpecError`, each as ``file:line yaml.path: message``.

The pack's ``hash`` is the sha256 over its files' sorted relative paths and bytes: a gate review
records it, so a decision can always be traced to the exact rules that made it.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from lifecycle.domain.facts import facts_schema
from lifecycle.domain.fields import fields_of
from lifecycle.domain.gates import OUTCOMES, SEVERITIES, VERDICTS, ApprovalRequirement, Vote, Waiver, WaiverPolicy
from lifecycle.domain.lifecycle import (
    PHASE_KINDS,
    TRANSITION_KINDS,
    LifecycleDef,
    Phase,
    PhaseMachine,
    TransitionDef,
    validate_lifecycle,
)
from lifecycle.domain.model import Requirement
from lifecycle.errors import Problem, SpecError
from lifecycle.expr import CelSyntax, CompiledExpr, ExprChecker, compile_expr
from lifecycle.load.build import Builder, is_invalid
from lifecycle.load.files import read_regular
from lifecycle.load.packfields import (
    CUSTOM_COLLECTIONS,
    FIELDS_FILE,
    FieldSpec,
    custom_facts,
    extended_schema,
    param_values,
    read_specs,
)
from lifecycle.load.source import Source, YPath, format_path, read_source

LIFECYCLE_FILE = "lifecycle.yaml"
LANGUAGES = ("zh", "en")  # the languages a title or message may be written in
RULE_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
YAML_SUFFIXES = (".yaml", ".yml")


# --------------------------------------------------------------------------- the loaded pack
@dataclass(frozen=True)
class Rule:
    """One gate criterion, compiled."""

    id: str
    gate: str
    title: Mapping[str, str]
    severity: str
    check: CompiledExpr
    when: CompiledExpr | None = None
    evidence: CompiledExpr | None = None
    message: Mapping[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    source: str = ""
    description: str = ""
    file: str = ""
    line: int | None = None

    def text(self, what: Mapping[str, str], lang: str) -> str:
        key = "zh" if lang.lower().startswith("zh") else "en"
        other = "en" if key == "zh" else "zh"
        return what.get(key) or what.get(other) or ""


@dataclass(frozen=True)
class Gate:
    id: str
    title: Mapping[str, str]
    rules: tuple[Rule, ...]
    description: str = ""


@dataclass(frozen=True)
class QualitySpec:
    """A quality standard the flows check on deliverables (loaded and validated here, run by flows)."""

    id: str
    title: Mapping[str, str]
    kind: str  # cel | file_sha256 | requirements_verified | defect_threshold
    applies_to: CompiledExpr | None  # over ``d`` (the deliverable) and the facts; None = every deliverable
    check: CompiledExpr | None  # kind cel: over ``d`` and the facts, true = pass
    params: Mapping[str, Any] = field(default_factory=dict)
    severity: str = "blocking"
    reference: str = ""
    description: str = ""
    message: Mapping[str, str] = field(default_factory=dict)
    file: str = ""
    line: int | None = None


@dataclass(frozen=True)
class RuleTest:
    """One rule test: a fixture and/or a facts patch, a transition, and what must come out."""

    name: str
    transition: str
    today: date
    fixture: str = ""  # path relative to the pack folder
    patch: Mapping[str, Any] = field(default_factory=dict)
    waivers: tuple[Waiver, ...] = ()
    votes: tuple[Vote, ...] = ()
    expect_decision: str = ""
    expect_rules: Mapping[str, str] = field(default_factory=dict)
    expect_approved: bool | None = None
    file: str = ""
    line: int | None = None


@dataclass(frozen=True)
class RulePack:
    name: str
    version: str
    title: Mapping[str, str]
    root: Path
    hash: str
    lifecycle: LifecycleDef
    gates: Mapping[str, Gate]
    waiver_policy: WaiverPolicy
    quality: tuple[QualitySpec, ...] = ()
    tests: tuple[RuleTest, ...] = ()
    files: tuple[str, ...] = ()
    description: str = ""
    languages: tuple[str, ...] = ()  # declared in lifecycle.yaml; titles and messages must have each
    warnings: tuple[str, ...] = ()  # lint warnings: the pack loads, but something looks unintended
    params: Mapping[str, FieldSpec] = field(default_factory=dict)  # lifecycle.yaml params:
    fields: Mapping[str, Mapping[str, FieldSpec]] = field(default_factory=dict)  # fields.yaml
    machine: PhaseMachine = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "machine", PhaseMachine(self.lifecycle))

    def gate_for(self, transition: str) -> Gate:
        """The gate guarding a transition (an empty gate if the pack defines no rules for it)."""
        t = self.lifecycle.transition(transition)
        return self.gates.get(t.gate_id) or Gate(t.gate_id, dict(t.title), ())

    def rules_for(self, transition: str) -> tuple[Rule, ...]:
        return self.gate_for(transition).rules

    def extend_facts(self, facts: Mapping[str, Any], project: Any) -> Mapping[str, Any]:
        """``facts`` with the pack's ``params`` (the project's overrides applied) and every declared
        custom field present in ``custom`` maps; the same ``facts`` if the pack declares neither or
        they are there already (a rule test's patched facts)."""
        if (not self.params and not self.fields) or "params" in facts:
            return facts
        out = dict(facts)
        out["params"] = param_values(self.params, project.charter.params)
        for coll, specs in self.fields.items():
            if coll == "project":
                out["project"] = {**out["project"], "custom": custom_facts(specs, project.charter.custom)}
            elif isinstance(out.get(coll), list):
                out[coll] = [{**i, "custom": custom_facts(specs, i.get("custom") or {})} for i in out[coll]]
        return out

    def all_rules(self) -> tuple[Rule, ...]:
        return tuple(r for g in self.gates.values() for r in g.rules)

    def rule(self, rule_id: str) -> Rule:
        for r in self.all_rules():
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def quality_standard(self, standard_id: str) -> QualitySpec:
        for q in self.quality:
            if q.id == standard_id:
                return q
        raise KeyError(standard_id)

    def ref(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "hash": self.hash}


# --------------------------------------------------------------------------- YAML shapes
@dataclass(frozen=True, slots=True)
class _Text:
    zh: str = ""
    en: str = ""


@dataclass(frozen=True, slots=True)
class _PhaseDoc:
    id: str
    title: _Text = _Text()
    kind: Literal["active", "hold", "final"] = "active"
    description: str = ""


@dataclass(frozen=True, slots=True)
class _RuleDoc:
    id: str
    title: _Text
    check: str
    severity: Literal["blocking", "warning"] = "blocking"
    when: str = ""
    evidence: str = ""
    message: _Text = _Text()
    tags: tuple[str, ...] = ()
    source: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class _QualityDoc:
    id: str
    title: _Text
    kind: Literal["cel", "file_sha256", "requirements_verified", "defect_threshold"]
    applies_to: str = ""
    check: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    severity: Literal["blocking", "warning"] = "blocking"
    reference: str = ""
    description: str = ""
    message: _Text = _Text()


@dataclass(frozen=True, slots=True)
class _WaiverPolicyDoc:
    roles: tuple[str, ...] = ()
    max_days: int = 90


assert set(SEVERITIES) == {"blocking", "warning"}
assert set(PHASE_KINDS) == {"active", "hold", "final"}

# kind -> {param: (type, description)}
QUALITY_KINDS: dict[str, dict[str, tuple[str, str]]] = {
    "cel": {},
    "file_sha256": {},
    "requirements_verified": {
        "priorities": ("priorities", "Requirement priorities that must be verified (default: must)")
    },
    "defect_threshold": {
        "max_open_defects": ("count", "Most open defects allowed (default 0)"),
        "max_failed_tests": ("count", "Most failed tests allowed (default 0)"),
        "min_tests_passed": ("count", "Fewest passed tests required (default 0)"),
    },
}


def _by_line(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: p.line or 0)


def _hint(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _text_data(value: Any) -> Any:
    """A title or message may be one text for both languages, or {zh, en}."""
    if isinstance(value, str):
        return {"zh": value, "en": value}
    return value


def _text_map(t: Any) -> dict[str, str]:
    return {"zh": t.zh, "en": t.en} if t is not None and not is_invalid(t) else {"zh": "", "en": ""}


class _PackReader:
    """Reads one pack folder, collecting every problem with its file, line and YAML path."""

    def __init__(self, folder: Path, display: str) -> None:
        self.folder = folder
        self.display = display
        self.problems: list[Problem] = []
        self.checker = ExprChecker()
        self.languages: tuple[str, ...] = ()  # from lifecycle.yaml: every title and message in each
        self.params: dict[str, FieldSpec] = {}  # from lifecycle.yaml
        self.fields: dict[str, dict[str, FieldSpec]] = {}  # from fields.yaml: collection -> name -> spec
        self.warnings: list[str] = []

    def rel(self, path: Path) -> str:
        return path.relative_to(self.folder).as_posix()

    def shown(self, rel: str) -> str:
        return f"{self.display.rstrip('/')}/{rel}" if self.display else rel

    def read(self, rel: str) -> Source | None:
        try:
            source = read_source(self.folder / rel)
        except SpecError as exc:
            for p in exc.problems:
                self.problems.append(Problem(self.shown(rel), p.line, p.path, p.message))
            return None
        source.file = self.shown(rel)
        return source

    def keys(
        self,
        b: Builder,
        data: Any,
        path: YPath,
        allowed: tuple[str, ...],
        required: tuple[str, ...] = (),
        what: str = "mapping",
    ) -> bool:
        if not isinstance(data, dict):
            b.error(path, f"expected a {what}, got {type(data).__name__ if data is not None else 'nothing'}")
            return False
        for key in data:
            if key not in allowed:
                b.error(path + (key,), f"unknown key '{key}'{_hint(key, allowed)} (allowed: {', '.join(allowed)})")
        for key in required:
            if key not in data:
                b.error(path, f"missing required key '{key}'")
        return True

    # ------------------------------------------------------------------ expressions
    def expr(
        self, b: Builder, text: Any, path: YPath, expect: str, bindings: tuple[str, ...] = ()
    ) -> CompiledExpr | None:
        if not isinstance(text, str):
            b.error(path, f"expected a CEL expression (text), got {type(text).__name__}")
            return None
        text = text.rstrip()  # a block scalar's final newline would put an error after the expression
        compiled = compile_expr(text)
        base = b.source.line(path)

        def at(inner_line: int) -> int | None:
            # A block scalar (``|``) starts on the line after its key: line k of the text is base + k.
            if base is not None and "\n" in text:
                return base + inner_line
            return base

        if isinstance(compiled, CelSyntax):
            b.problems.append(Problem(b.source.file, at(compiled.line), format_path(path), compiled.describe()))
            return None
        for issue in self.checker.check(compiled, expect, bindings):
            b.problems.append(Problem(b.source.file, at(issue.line), format_path(path), issue.message))
        return compiled


def _pack_files(folder: Path) -> list[Path]:
    out = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            continue
        if p.is_file():
            out.append(p)
    return out


def pack_hash(folder: str | Path) -> str:
    """sha256 over the sorted relative paths and bytes of every file of the pack (hidden files excluded)."""
    root = Path(folder)
    h = hashlib.sha256()
    for p in sorted(_pack_files(root), key=lambda q: q.relative_to(root).as_posix()):
        data = read_regular(p)  # a pipe or a device is refused, a file read up to the limit
        h.update(f"{p.relative_to(root).as_posix()}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


# --------------------------------------------------------------------------- fields.yaml
def _read_fields(r: _PackReader, lc: LifecycleDef | None) -> None:
    """``fields.yaml``: ``fields: {collection: {name: {type, enum, min, max, required_from, label}}}``."""
    if not (r.folder / FIELDS_FILE).is_file():
        return
    src = r.read(FIELDS_FILE)
    if src is None or src.data is None:
        return
    b = Builder(src)
    phases = [p.id for p in lc.phases] if lc else []
    if r.keys(b, src.data, (), ("fields", "description"), ("fields",)):
        section = src.data.get("fields") or {}
        if not isinstance(section, dict):
            b.error(("fields",), "expected a mapping of collection -> fields")
            section = {}
        for coll, raw in section.items():
            if coll not in CUSTOM_COLLECTIONS:
                known = ", ".join(CUSTOM_COLLECTIONS)
                b.error(("fields", coll), f"'{coll}' cannot carry custom fields (one of: {known})")
                continue
            r.fields[coll] = read_specs(b, raw, ("fields", coll), param=False, phases=phases)
    r.problems.extend(_by_line(b.problems))


# --------------------------------------------------------------------------- lifecycle.yaml
def _read_lifecycle(r: _PackReader) -> tuple[dict[str, Any], LifecycleDef | None, WaiverPolicy]:
    meta: dict[str, Any] = {"name": "", "version": "", "title": {"zh": "", "en": ""}, "description": ""}
    policy = WaiverPolicy()
    if not (r.folder / LIFECYCLE_FILE).is_file():
        r.problems.append(
            Problem(
                r.shown(LIFECYCLE_FILE), None, "", "missing: a rule pack needs lifecycle.yaml (phases and transitions)"
            )
        )
        return meta, None, policy
    src = r.read(LIFECYCLE_FILE)
    if src is None:
        return meta, None, policy
    b = Builder(src)
    data = src.data
    allowed = (
        "name",
        "version",
        "title",
        "description",
        "initial",
        "phases",
        "transitions",
        "waivers",
        "baseline_on_entry",
        "languages",
        "params",
    )
    if not r.keys(b, data, (), allowed, ("name", "version", "phases", "transitions")):
        r.problems.extend(_by_line(b.problems))
        return meta, None, policy
    _read_meta(b, data, meta)
    r.languages = _read_languages(b, data)
    r.params = read_specs(b, data.get("params"), ("params",), param=True)
    phases, phase_at, n_phases = _read_phases(b, data)
    transitions, transition_at, n_transitions = _read_transitions(r, b, data)
    if "waivers" in data:
        wd = b.build(_WaiverPolicyDoc, data["waivers"], ("waivers",))
        if not is_invalid(wd):
            if wd.max_days < 1:
                b.error(("waivers", "max_days"), "max_days must be at least 1")
            policy = WaiverPolicy(tuple(wd.roles), int(wd.max_days))
    initial = data.get("initial", "")
    if not isinstance(initial, str):
        b.error(("initial",), "expected a phase id")
        initial = ""
    lc = LifecycleDef(tuple(phases), tuple(transitions), initial, _read_baseline_on_entry(b, data))
    complete = len(phases) == n_phases and len(transitions) == n_transitions
    for ypath, message in validate_lifecycle(lc, check_reachability=complete):
        # paths index the phases and transitions that were read; map them back to the file's indexes
        if len(ypath) > 1 and ypath[0] in ("phases", "transitions") and isinstance(ypath[1], int):
            at = phase_at if ypath[0] == "phases" else transition_at
            ypath = (ypath[0], at[ypath[1]], *ypath[2:])
        b.error(ypath, message)
    r.problems.extend(_by_line(b.problems))
    if b.problems:
        return meta, None, policy
    return meta, lc, policy


def _read_meta(b: Builder, data: dict[str, Any], meta: dict[str, Any]) -> None:
    """The pack's name, version, description and title, into ``meta``."""
    for key in ("name", "version", "description"):
        if key in data:
            value = data[key]
            if not isinstance(value, str):
                hint = " (put it in quotes, e.g. '1.10')" if isinstance(value, (int, float)) else ""
                b.error((key,), f"expected text, got {value!r}{hint}")
            else:
                meta[key] = value
    if "title" in data:
        t = b.build(_Text, _text_data(data["title"]), ("title",))
        meta["title"] = _text_map(t)


def _read_languages(b: Builder, data: dict[str, Any]) -> tuple[str, ...]:
    """``languages: [zh, en]``: the languages every rule title and message must be written in."""
    raw = data.get("languages", [])
    if not isinstance(raw, list) or not all(x in LANGUAGES for x in raw) or len(set(raw)) != len(raw):
        b.error(("languages",), f"expected a list of distinct languages out of: {', '.join(LANGUAGES)}")
        return ()
    return tuple(raw)


def _check_languages(r: _PackReader, b: Builder, raw: Any, path: YPath) -> None:
    """A title or message written in every language the pack declares (when it declares two)."""
    if len(r.languages) < 2 or raw is None:
        return
    if not isinstance(raw, dict):
        langs = ", ".join(r.languages)
        b.error(path, f"the pack declares languages {langs}: write {{{': ..., '.join(r.languages)}: ...}}")
        return
    missing = [lang for lang in r.languages if not (isinstance(raw.get(lang), str) and raw[lang].strip())]
    if missing:
        b.error(path, f"missing the {', '.join(missing)} text (the pack declares languages {', '.join(r.languages)})")


def _read_phases(b: Builder, data: dict[str, Any]) -> tuple[list[Phase], list[int], int]:
    """The phases read, the index in the file of each, and how many the file lists."""
    phases: list[Phase] = []
    phase_at: list[int] = []
    raw_phases = data.get("phases")
    if not isinstance(raw_phases, list):
        b.error(("phases",), "expected a list of phases")
        raw_phases = []
    for i, raw in enumerate(raw_phases):
        if isinstance(raw, dict) and "title" in raw:
            raw = {**raw, "title": _text_data(raw["title"])}
        doc = b.build(_PhaseDoc, raw, ("phases", i))
        if is_invalid(doc):
            pid = raw.get("id") if isinstance(raw, dict) else None
            if isinstance(pid, str):  # keep the id so references to it are not reported twice
                phases.append(Phase(pid, {"zh": pid, "en": pid}, i))
                phase_at.append(i)
            continue
        title = _text_map(doc.title)
        if not title["en"] and not title["zh"]:
            title = {"zh": doc.id, "en": doc.id}
        phases.append(Phase(doc.id, title, i, doc.kind, doc.description))
        phase_at.append(i)
    return phases, phase_at, len(raw_phases)


def _read_transitions(r: _PackReader, b: Builder, data: dict[str, Any]) -> tuple[list[TransitionDef], list[int], int]:
    """The transitions read, the index in the file of each, and how many the file lists."""
    transitions: list[TransitionDef] = []
    transition_at: list[int] = []
    raw_ts = data.get("transitions")
    if not isinstance(raw_ts, list):
        b.error(("transitions",), "expected a list of transitions")
        raw_ts = []
    for j, raw in enumerate(raw_ts):
        t = _read_transition(r, b, raw, ("transitions", j))
        if t is not None:
            transitions.append(t)
            transition_at.append(j)
    return transitions, transition_at, len(raw_ts)


def _read_transition(r: _PackReader, b: Builder, raw: Any, path: YPath) -> TransitionDef | None:
    t_allowed = ("name", "title", "description", "from", "to", "kind", "gate", "approvals")
    if not r.keys(b, raw, path, t_allowed, ("name", "from")):
        return None
    before = len(b.problems)
    name = raw.get("name")
    if not isinstance(name, str):
        b.error(path + ("name",), "expected the transition's name (text)")
    src_raw = raw.get("from")
    listed = isinstance(src_raw, list)
    sources = src_raw if listed else [src_raw]
    if not all(isinstance(s, str) for s in sources) or not sources:
        b.error(path + ("from",), "expected a phase id, '*' (every active phase) or a list of them")
    dest = raw.get("to", "")
    if not isinstance(dest, str):
        b.error(path + ("to",), "expected a phase id")
    kind = raw.get("kind", "forward")
    if kind not in TRANSITION_KINDS:
        b.error(
            path + ("kind",),
            f"'{kind}' is not one of: {', '.join(TRANSITION_KINDS)}{_hint(kind, TRANSITION_KINDS)}",
        )
    gate = raw.get("gate", "")
    if not isinstance(gate, str):
        b.error(path + ("gate",), "expected a gate id (text)")
    ok = len(b.problems) == before
    title = {"zh": "", "en": ""}
    if "title" in raw:
        t = b.build(_Text, _text_data(raw["title"]), path + ("title",))
        title = _text_map(t)
    approvals = _read_approvals(r, b, raw.get("approvals"), path + ("approvals",)) if "approvals" in raw else None
    if not ok:
        return None
    return TransitionDef(
        name, tuple(sources), dest, kind, gate, title, approvals, str(raw.get("description", "")), listed
    )


def _read_baseline_on_entry(b: Builder, data: dict[str, Any]) -> tuple[str, ...] | None:
    if "baseline_on_entry" not in data:
        return None
    raw_b = data["baseline_on_entry"]
    if not isinstance(raw_b, list) or not all(isinstance(x, str) for x in raw_b):
        b.error(("baseline_on_entry",), "expected a list of phase ids, e.g. [execution]")
        return None
    return tuple(raw_b)


def _read_approvals(r: _PackReader, b: Builder, raw: Any, path: YPath) -> ApprovalRequirement | None:
    if raw is None:
        return None
    if not r.keys(b, raw, path, ("all_of", "n_of"), what="mapping with all_of and/or n_of"):
        return None
    all_of: tuple[str, ...] = ()
    n, roles = 0, ()
    if "all_of" in raw:
        v = raw["all_of"]
        if not isinstance(v, list) or not v or not all(isinstance(x, str) for x in v):
            b.error(path + ("all_of",), "expected a list of roles, e.g. [sponsor, client_representative]")
        else:
            all_of = tuple(v)
    if "n_of" in raw:
        v = raw["n_of"]
        if r.keys(b, v, path + ("n_of",), ("n", "roles"), ("n", "roles")):
            nv, rv = v.get("n"), v.get("roles")
            if not isinstance(nv, int) or isinstance(nv, bool) or nv < 1:
                b.error(path + ("n_of", "n"), "n must be a whole number of at least 1")
            elif not isinstance(rv, list) or not rv or not all(isinstance(x, str) for x in rv):
                b.error(path + ("n_of", "roles"), "expected a list of roles, e.g. [steering]")
            else:
                n, roles = nv, tuple(rv)
    if not all_of and not n:
        if "all_of" not in raw and "n_of" not in raw:
            b.error(path, "approvals need all_of: [roles] and/or n_of: {n: 2, roles: [...]}")
        return None
    return ApprovalRequirement(all_of=all_of, n=n, n_of_roles=roles)


# --------------------------------------------------------------------------- gates/*.yaml
def _yaml_files(folder: Path, sub: str) -> list[str]:
    d = folder / sub
    if not d.is_dir():
        return []
    return [
        p.relative_to(folder).as_posix()
        for p in sorted(d.iterdir())
        if p.is_file() and p.suffix in YAML_SUFFIXES and not p.name.startswith(".")
    ]


def _sections(
    r: _PackReader, sub: str, key: str, *, required: bool, kind: type, what: str
) -> Iterator[tuple[str, Builder, Any]]:
    """Each YAML file of a pack folder with its builder and its top-level ``key`` section (a ``kind``,
    ``what`` in the message when it is not); the file's problems are collected after the caller's turn."""
    for rel in _yaml_files(r.folder, sub):
        src = r.read(rel)
        if src is None or src.data is None:
            continue
        b = Builder(src)
        if not r.keys(b, src.data, (), (key, "description"), (key,) if required else ()):
            r.problems.extend(_by_line(b.problems))
            continue
        section = src.data.get(key) or kind()
        if not isinstance(section, kind):
            b.error((key,), f"expected {what}")
            section = kind()
        yield rel, b, section
        r.problems.extend(_by_line(b.problems))


def _read_gates(r: _PackReader, lc: LifecycleDef | None) -> tuple[dict[str, Gate], dict[str, str]]:
    """The gates, and every rule id declared (valid or not) with its gate, so tests that name an
    invalid rule are not reported a second time."""
    gate_ids = set(lc.gate_ids()) if lc else set()
    transition_names = {t.name for t in lc.transitions} if lc else set()
    seen_rules: dict[str, str] = {}
    declared: dict[str, str] = {}
    collected: dict[str, list[Rule]] = {}
    titles: dict[str, dict[str, str]] = {}
    descriptions: dict[str, str] = {}
    for rel, b, gates in _sections(
        r, "gates", "gates", required=False, kind=dict, what="a mapping of gate id -> {title, rules}"
    ):
        for gid, gdata in gates.items():
            gpath: YPath = ("gates", gid)
            if lc is not None and gid not in gate_ids:
                what = "transition" if gid not in transition_names else "gate"
                b.error(
                    gpath,
                    f"gate '{gid}' names no {what} of the lifecycle{_hint(gid, gate_ids)} "
                    f"(gates: {', '.join(sorted(gate_ids))})",
                )
            if not r.keys(b, gdata, gpath, ("title", "description", "rules"), ("rules",)):
                continue
            _check_languages(r, b, gdata.get("title"), gpath + ("title",))
            if "title" in gdata:
                titles[gid] = _text_map(b.build(_Text, _text_data(gdata["title"]), gpath + ("title",)))
            if isinstance(gdata.get("description"), str):
                descriptions[gid] = gdata["description"]
            rules = gdata.get("rules") or []
            if not isinstance(rules, list):
                b.error(gpath + ("rules",), "expected a list of rules")
                continue
            for k, raw in enumerate(rules):
                if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                    declared.setdefault(raw["id"], str(gid))
                rule = _read_rule(r, b, raw, gpath + ("rules", k), gid, seen_rules, rel)
                if rule is not None:
                    collected.setdefault(gid, []).append(rule)
    out: dict[str, Gate] = {}
    for gid, rules in collected.items():
        out[gid] = Gate(gid, titles.get(gid, {"zh": gid, "en": gid}), tuple(rules), descriptions.get(gid, ""))
    for gid in titles:
        out.setdefault(gid, Gate(gid, titles[gid], (), descriptions.get(gid, "")))
    return out, declared


def _read_rule(
    r: _PackReader, b: Builder, raw: Any, path: YPath, gate: str, seen: dict[str, str], rel: str
) -> Rule | None:
    if isinstance(raw, dict):
        raw = dict(raw)
        for key in ("title", "message"):
            if key in raw:
                _check_languages(r, b, raw[key], path + (key,))
                raw[key] = _text_data(raw[key])
    doc = b.build(_RuleDoc, raw, path)
    rid = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(rid, str):
        here = f"{rel}:{b.source.line(path + ('id',))}"
        if not RULE_ID_RE.match(rid):
            b.error(path + ("id",), f"'{rid}' is not a valid rule id (a letter, then letters, digits, '.', '_', '-')")
        if rid in seen:
            b.error(path + ("id",), f"duplicate rule id '{rid}' (first at {seen[rid]})")
        else:
            seen[rid] = here
    if is_invalid(doc):
        # still compile the expressions that are there, so one run reports their problems too
        if isinstance(raw, dict):
            for key, expect in (("when", "bool"), ("check", "bool"), ("evidence", "list")):
                if isinstance(raw.get(key), str) and raw[key].strip():
                    r.expr(b, raw[key], path + (key,), expect)
        return None
    title = _text_map(doc.title)
    if not title["en"] and not title["zh"]:
        b.error(path + ("title",), "a rule needs a title (zh and/or en)")
    when = r.expr(b, doc.when, path + ("when",), "bool") if doc.when.strip() else None
    check = r.expr(b, doc.check, path + ("check",), "bool")
    evidence = r.expr(b, doc.evidence, path + ("evidence",), "list") if doc.evidence.strip() else None
    if check is None or (doc.when.strip() and when is None) or (doc.evidence.strip() and evidence is None):
        return None
    return Rule(
        id=doc.id,
        gate=gate,
        title=title,
        severity=doc.severity,
        check=check,
        when=when,
        evidence=evidence,
        message=_text_map(doc.message),
        tags=tuple(doc.tags),
        source=doc.source,
        description=doc.description,
        file=b.source.file,
        line=b.source.line(path),
    )


# --------------------------------------------------------------------------- quality/*.yaml
def _read_quality(r: _PackReader) -> tuple[QualitySpec, ...]:
    out: list[QualitySpec] = []
    seen: dict[str, str] = {}
    priorities = next(i.choices for i in fields_of(Requirement) if i.name == "priority")
    for rel, b, items in _sections(
        r, "quality", "standards", required=True, kind=list, what="a list of quality standards"
    ):
        for i, raw in enumerate(items):
            path: YPath = ("standards", i)
            if isinstance(raw, dict):
                raw = dict(raw)
                for key in ("title", "message"):
                    if key in raw:
                        raw[key] = _text_data(raw[key])
            doc = b.build(_QualityDoc, raw, path)
            if is_invalid(doc):
                continue
            if doc.id in seen:
                b.error(path + ("id",), f"duplicate quality standard '{doc.id}' (first at {seen[doc.id]})")
            seen.setdefault(doc.id, f"{rel}:{b.source.line(path)}")
            applies = (
                r.expr(b, doc.applies_to, path + ("applies_to",), "bool", ("d",)) if doc.applies_to.strip() else None
            )
            check = None
            if doc.kind == "cel":
                if not doc.check.strip():
                    b.error(path, "a standard of kind cel needs a check expression (over d, the deliverable)")
                else:
                    check = r.expr(b, doc.check, path + ("check",), "bool", ("d",))
            elif doc.check.strip():
                b.error(path + ("check",), f"kind {doc.kind} is checked by the engine; 'check' is only for kind cel")
            spec = QUALITY_KINDS[doc.kind]
            params = dict(doc.params)
            for key, value in params.items():
                if key not in spec:
                    allowed = ", ".join(spec) or "none"
                    b.error(
                        path + ("params", key),
                        f"unknown parameter '{key}' for kind {doc.kind}{_hint(key, spec)} (parameters: {allowed})",
                    )
                    continue
                ptype = spec[key][0]
                if ptype == "count" and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                    b.error(path + ("params", key), f"{key} must be a whole number of at least 0")
                if ptype == "priorities" and (not isinstance(value, list) or not all(v in priorities for v in value)):
                    b.error(path + ("params", key), f"{key} is a list of: {', '.join(priorities)}")
            out.append(
                QualitySpec(
                    id=doc.id,
                    title=_text_map(doc.title),
                    kind=doc.kind,
                    applies_to=applies,
                    check=check,
                    params=params,
                    severity=doc.severity,
                    reference=doc.reference,
                    description=doc.description,
                    message=_text_map(doc.message),
                    file=b.source.file,
                    line=b.source.line(path),
                )
            )
    return tuple(out)


# --------------------------------------------------------------------------- tests/*.yaml
def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _read_tests(r: _PackReader, lc: LifecycleDef | None, declared: Mapping[str, str]) -> tuple[RuleTest, ...]:
    out: list[RuleTest] = []
    names: dict[str, str] = {}
    for rel, b, items in _sections(r, "tests", "tests", required=True, kind=list, what="a list of tests"):
        for i, raw in enumerate(items):
            test = _read_test(r, b, raw, ("tests", i), lc, declared, names, rel)
            if test is not None:
                out.append(test)
    return tuple(out)


def _read_test(
    r: _PackReader,
    b: Builder,
    raw: Any,
    path: YPath,
    lc: LifecycleDef | None,
    declared: Mapping[str, str],
    names: dict[str, str],
    rel: str,
) -> RuleTest | None:
    """One rule test (None when it has a problem, recorded in ``b``); ``names`` remembers where each
    test name was first used."""
    allowed = ("name", "description", "fixture", "patch", "transition", "today", "waivers", "votes", "expect")
    if not r.keys(b, raw, path, allowed, ("name", "transition", "today", "expect")):
        return None
    before = len(b.problems)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        b.error(path + ("name",), "a test needs a name (text)")
        name = f"tests[{path[-1]}]"
    elif name in names:
        b.error(path + ("name",), f"duplicate test name '{name}' (first at {names[name]})")
    names.setdefault(name, f"{rel}:{b.source.line(path)}")
    transition, gate_rules = _test_transition(b, raw.get("transition"), path, lc, declared)
    today = _as_date(raw.get("today"))
    if today is None:
        b.error(path + ("today",), "expected a date like 2026-03-31")
        today = date(2000, 1, 1)
    fixture = _test_fixture(r, b, raw.get("fixture", ""), path)
    patch = raw.get("patch") or {}
    if not isinstance(patch, dict):
        b.error(path + ("patch",), "expected a mapping of facts path -> value, e.g. {'tasks[T1].owner': ''}")
        patch = {}
    waivers = _read_waivers(r, b, raw.get("waivers") or [], path + ("waivers",), set(declared))
    votes = _read_votes(r, b, raw.get("votes") or [], path + ("votes",))
    expect: tuple[str, dict[str, str], bool | None] = ("", {}, None)
    exp = raw.get("expect")
    if r.keys(b, exp, path + ("expect",), ("decision", "rules", "approved"), ()):
        expect = _read_expect(b, exp, path + ("expect",), transition, gate_rules, declared)
    if len(b.problems) != before:
        return None
    return RuleTest(
        name=name,
        transition=transition,
        today=today,
        fixture=fixture,
        patch=dict(patch),
        waivers=waivers,
        votes=votes,
        expect_decision=expect[0],
        expect_rules=expect[1],
        expect_approved=expect[2],
        file=b.source.file,
        line=b.source.line(path),
    )


def _test_transition(
    b: Builder, transition: Any, path: YPath, lc: LifecycleDef | None, declared: Mapping[str, str]
) -> tuple[str, set[str] | None]:
    """The test's transition and the rules of its gate (None when the lifecycle or transition is unknown)."""
    if not isinstance(transition, str):
        b.error(path + ("transition",), "expected a transition name")
        return "", None
    if lc is None:
        return transition, None
    tnames = [t.name for t in lc.transitions]
    if transition not in tnames:
        b.error(path + ("transition",), f"unknown transition '{transition}'{_hint(transition, tnames)}")
        return transition, None
    gid = lc.transition(transition).gate_id
    return transition, {rid for rid, g in declared.items() if g == gid}


def _test_fixture(r: _PackReader, b: Builder, fixture: Any, path: YPath) -> str:
    """The fixture's path, relative to the pack folder and inside it."""
    if not isinstance(fixture, str):
        b.error(path + ("fixture",), "expected the path of a project file, relative to the pack folder")
        return ""
    if fixture:
        fpath = (r.folder / fixture).resolve()
        if not fpath.is_file():
            b.error(path + ("fixture",), f"fixture '{fixture}' not found (paths are relative to the pack folder)")
        elif r.folder.resolve() not in fpath.parents:
            b.error(path + ("fixture",), "a fixture must be inside the pack folder")
    return fixture


def _read_expect(
    b: Builder,
    exp: dict[str, Any],
    path: YPath,
    transition: str,
    gate_rules: set[str] | None,
    declared: Mapping[str, str],
) -> tuple[str, dict[str, str], bool | None]:
    """What the test expects: the decision, each rule's outcome, whether the move is approved."""
    expect_decision = ""
    expect_rules: dict[str, str] = {}
    expect_approved = None
    if "decision" in exp:
        if exp["decision"] not in VERDICTS:
            b.error(
                path + ("decision",),
                f"'{exp['decision']}' is not one of: {', '.join(VERDICTS)}{_hint(str(exp['decision']), VERDICTS)}",
            )
        else:
            expect_decision = exp["decision"]
    rules = exp.get("rules") or {}
    if not isinstance(rules, dict):
        b.error(path + ("rules",), "expected a mapping of rule id -> outcome")
        rules = {}
    for rid, outcome in rules.items():
        rpath = path + ("rules", rid)
        if gate_rules is not None and rid not in gate_rules:
            where = f"gate '{declared[rid]}'" if rid in declared else "no gate"
            b.error(
                rpath,
                f"rule '{rid}' is not in the gate of '{transition}' (it is in {where}){_hint(rid, gate_rules)}",
            )
        if outcome not in OUTCOMES:
            b.error(rpath, f"'{outcome}' is not one of: {', '.join(OUTCOMES)}{_hint(str(outcome), OUTCOMES)}")
        expect_rules[str(rid)] = str(outcome)
    if "approved" in exp:
        if not isinstance(exp["approved"], bool):
            b.error(path + ("approved",), "expected true or false")
        else:
            expect_approved = exp["approved"]
    if not expect_decision and not expect_rules and expect_approved is None:
        b.error(path, "expect at least one of: decision, rules, approved")
    return expect_decision, expect_rules, expect_approved


def _read_waivers(r: _PackReader, b: Builder, raw: Any, path: YPath, rule_ids: set[str]) -> tuple[Waiver, ...]:
    if not isinstance(raw, list):
        b.error(path, "expected a list of waivers")
        return ()
    out = []
    for i, w in enumerate(raw):
        wp = path + (i,)
        if not r.keys(
            b, w, wp, ("id", "rule", "granted_by", "role", "reason", "expires_on", "granted_at"), ("rule", "expires_on")
        ):
            continue
        expires = _as_date(w.get("expires_on"))
        if expires is None:
            b.error(wp + ("expires_on",), "expected a date like 2026-03-31")
            continue
        rule = str(w.get("rule"))
        if rule not in rule_ids:
            b.error(wp + ("rule",), f"unknown rule '{rule}'{_hint(rule, rule_ids)}")
        out.append(
            Waiver(
                id=str(w.get("id", f"W{i + 1}")),
                rule=rule,
                granted_by=str(w.get("granted_by", "")),
                role=str(w.get("role", "")),
                reason=str(w.get("reason", "")),
                expires_on=expires,
                granted_at=str(w.get("granted_at", "")),
            )
        )
    return tuple(out)


def _read_votes(r: _PackReader, b: Builder, raw: Any, path: YPath) -> tuple[Vote, ...]:
    if not isinstance(raw, list):
        b.error(path, "expected a list of votes")
        return ()
    out = []
    for i, v in enumerate(raw):
        vp = path + (i,)
        if not r.keys(b, v, vp, ("role", "by", "decision", "comment", "at", "project_version"), ("role", "by")):
            continue
        decision = v.get("decision", "approve")
        if decision not in ("approve", "reject"):
            b.error(vp + ("decision",), f"'{decision}' is not one of: approve, reject")
            continue
        version = v.get("project_version", -1)  # -1: on the version under test
        if not isinstance(version, int) or isinstance(version, bool):
            b.error(vp + ("project_version",), "expected a whole number")
            continue
        out.append(
            Vote(
                role=str(v["role"]),
                by=str(v["by"]),
                decision=decision,
                comment=str(v.get("comment", "")),
                at=str(v.get("at", "")),
                project_version=version,
            )
        )
    return tuple(out)


# --------------------------------------------------------------------------- entry point
def load_pack(folder: str | Path) -> RulePack:
    """Load and validate the rule pack in ``folder``; SpecError with every problem if it is not valid."""
    display = str(folder)
    root = Path(folder)
    if not root.is_dir():
        raise SpecError(
            [Problem(display, None, "", "not a folder (a rule pack is a folder with lifecycle.yaml)")],
            "cannot read the rule pack",
        )
    r = _PackReader(root, display)
    meta, lc, policy = _read_lifecycle(r)
    _read_fields(r, lc)
    if r.params or r.fields:  # rules may read params.NAME and x.custom.NAME: check them against both
        r.checker = ExprChecker(extended_schema(facts_schema(), r.params, r.fields))
    gates, declared = _read_gates(r, lc)
    quality = _read_quality(r)
    tests = _read_tests(r, lc, declared)
    if r.problems or lc is None:
        n = len(r.problems)
        raise SpecError(r.problems, f"rule pack {display} has {n} problem{'s' if n != 1 else ''}")
    files = tuple(p.relative_to(root).as_posix() for p in _pack_files(root))
    for t in lc.transitions:
        gate = gates.get(t.gate_id)
        if t.kind == "forward" and (gate is None or not gate.rules):
            r.warnings.append(
                f"{r.shown(LIFECYCLE_FILE)}: forward transition '{t.name}' has no rules "
                f"(gate '{t.gate_id}'): it always passes"
            )
    return RulePack(
        name=meta["name"],
        version=meta["version"],
        title=meta["title"],
        root=root.resolve(),
        hash=pack_hash(root),
        lifecycle=lc,
        gates=gates,
        waiver_policy=policy,
        quality=quality,
        tests=tests,
        files=files,
        description=meta["description"],
        languages=r.languages,
        warnings=tuple(r.warnings),
        params=r.params,
        fields=r.fields,
    )


__all__ = ["QUALITY_KINDS", "Gate", "QualitySpec", "Rule", "RulePack", "RuleTest", "load_pack", "pack_hash"]
