"""Parameters and custom fields declared by a rule pack (issue 14, findings 1 and 5): declared once,
overridden per project, validated on apply with file:line errors, seen in the facts, checked by lint."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lifecycle.cli.main import cli
from lifecycle.errors import SpecError
from lifecycle.load.rulepack import load_pack
from tests.rules.helpers import DEFAULT_PACK

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "en-clinic-portal.yaml"
CODE = "NHP-PORTAL-2026"

PARAMS = """params:
  risk_tolerance:
    type: integer
    default: 15
    min: 1
    max: 25
    label: {zh: 风险容忍度, en: Risk tolerance (probability x impact)}
"""
FIELDS = """fields:
  project:
    npv:
      type: number
      label: {zh: 净现值, en: Net present value}
    scorecard:
      type: scorecard
      label: {zh: 评分卡, en: Scorecard}
  risks:
    knock_out:
      type: boolean
      label: {zh: 否决项, en: Knock-out}
  deliverables:
    doc_kind:
      type: string
      enum: [design, test_report, manual]
      required_from: execution
      label: {zh: 文件类型, en: Document kind}
"""
RULE = """
      - id: PLN-90
        title: {zh: 高风险在容忍度之内, en: Risks within the tolerance}
        check: >-
          count('risks', {'status': 'open', 'score >': params.risk_tolerance}) == 0
          && !risks.exists(r, r.custom.knock_out == true)
        message: {zh: 风险超出容忍度。, en: Risks exceed the tolerance.}
      - id: PLN-91
        title: {zh: 评分卡达标, en: The scorecard passes}
        severity: warning
        check: "project.custom.scorecard == null || weighted_score(project.custom.scorecard) >= 3.0"
"""


def _pack(tmp_path: Path, rule: str = RULE) -> Path:
    pack = tmp_path / "pack"
    shutil.copytree(DEFAULT_PACK, pack)
    life = pack / "lifecycle.yaml"
    life.write_text(life.read_text(encoding="utf-8") + PARAMS, encoding="utf-8")
    (pack / "fields.yaml").write_text(FIELDS, encoding="utf-8")
    gates = pack / "gates" / "planning.yaml"
    text = gates.read_text(encoding="utf-8")
    gates.write_text(text.rstrip("\n") + "\n" + rule, encoding="utf-8")
    return pack


def test_the_pack_declares_params_and_fields(tmp_path: Path) -> None:
    pack = load_pack(_pack(tmp_path))
    assert pack.params["risk_tolerance"].default == 15
    assert pack.fields["deliverables"]["doc_kind"].choices == ("design", "test_report", "manual")
    assert pack.rule("PLN-90").check.native is not None


@pytest.mark.parametrize(
    ("check", "words"),
    [
        ("params.risk_tolerans > 0", "unknown field 'risk_tolerans'"),
        ("params.risk_tolerance == '15'", "sets a number against a text"),
        ("risks.all(r, r.custom.knockout == false)", "unknown field 'knockout'"),
        ("deliverables.all(d, d.custom.doc_kind != 'desing')", "'desing' is not a value"),
        ("count('risks', {'custom.knock_out': 'yes'}) == 0", "write the value as a bool"),
    ],
)
def test_lint_checks_rules_against_params_and_fields(tmp_path: Path, check: str, words: str) -> None:
    rule = f"""
      - id: PLN-92
        title: {{zh: 测试, en: Test}}
        check: "{check}"
"""
    with pytest.raises(SpecError) as err:
        load_pack(_pack(tmp_path, rule))
    assert any(words in str(p) and "planning.yaml" in str(p) for p in err.value.problems), err.value.problems


def test_bad_declarations_are_reported(tmp_path: Path) -> None:
    pack = _pack(tmp_path)
    (pack / "fields.yaml").write_text(
        "fields:\n  tasks:\n    x: {type: money}\n    y: {type: string, required_from: uat}\n"
        "  nowhere:\n    z: {type: string}\n",
        encoding="utf-8",
    )
    life = pack / "lifecycle.yaml"
    life.write_text(life.read_text(encoding="utf-8").replace("default: 15", "default: '15'"), encoding="utf-8")
    with pytest.raises(SpecError) as err:
        load_pack(pack)
    text = "\n".join(map(str, err.value.problems))
    assert "fields.yaml:3 fields.tasks.x.type: expected one of" in text
    assert "'uat' is not a phase" in text and "'nowhere' cannot carry custom fields" in text
    assert "lifecycle.yaml" in text and "params.risk_tolerance.default: expected a integer" in text


def _run(*args: str, code: int = 0) -> Any:
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == code, res.output + (repr(res.exception) if res.exception else "")
    return res


def _project(tmp_path: Path, charter_extra: str, risk_extra: str = "") -> Path:
    text = SAMPLE.read_text(encoding="utf-8")
    text = text.replace("project:\n  code: NHP-PORTAL-2026\n", "project:\n  code: NHP-PORTAL-2026\n" + charter_extra, 1)
    if risk_extra:
        text = text.replace("  - id: R-01\n", "  - id: R-01\n" + risk_extra, 1)
    path = tmp_path / "project.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_apply_validates_overrides_and_custom_values_with_file_line(
    tmp_path: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PMO_TODAY", "2026-09-20")
    pack = str(_pack(tmp_path))
    bad = _project(
        tmp_path,
        "  params: {risk_tolerance: '12', risk_tolerence: 3}\n  custom: {npv: 1.5e6, colour: red}\n",
        "    custom: {knock_out: 'no'}\n",
    )
    out = _run("--rules", pack, "apply", str(bad), code=2).output
    assert "project.yaml:8 project.params.risk_tolerance: expected a integer, got '12'" in out
    assert "unknown parameter 'risk_tolerence'" in out and "unknown custom field 'colour'" in out
    assert "risks[0].custom.knock_out: expected a boolean" in out
    assert "no project" in _run("--rules", pack, "show", CODE, code=2).output  # nothing was written

    good = _project(
        tmp_path,
        "  params: {risk_tolerance: 20}\n  custom:\n    npv: 1500000.0\n    scorecard:\n"
        "      - {criterion: fit, weight: 2, score: 4}\n      - {criterion: risk, weight: 1, score: 1}\n",
        "    custom: {knock_out: false}\n",
    )
    _run("--rules", pack, "apply", str(good))
    facts = json.loads(_run("--rules", pack, "facts", CODE).output)
    assert facts["params"] == {"risk_tolerance": 20}
    assert facts["project"]["custom"]["npv"] == 1500000.0
    assert facts["risks"][0]["custom"] == {"knock_out": False}
    assert facts["risks"][1]["custom"] == {"knock_out": None}  # declared, not given
    _run("--rules", pack, "advance", CODE, "--to", "planning")
    d = json.loads(_run("--rules", pack, "gate", "check", CODE, "--json", code=1).output)
    outcome = {r["id"]: r["outcome"] for r in d["results"]}
    assert outcome["PLN-90"] == "pass"  # R-01 scores 16, within this project's tolerance of 20
    assert outcome["PLN-91"] == "pass"  # (2*4 + 1*1) / 3 = 3.0


def test_default_param_applies_without_an_override(
    tmp_path: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PMO_TODAY", "2026-09-20")
    pack = str(_pack(tmp_path))
    _run("--rules", pack, "apply", str(SAMPLE))
    _run("--rules", pack, "advance", CODE, "--to", "planning")
    d = json.loads(_run("--rules", pack, "gate", "check", CODE, "--json", code=1).output)
    assert {r["id"]: r["outcome"] for r in d["results"]}["PLN-90"] == "fail"  # 16 > 15


def test_schemas_declare_the_pack_params_and_custom_fields(tmp_path: Path) -> None:
    pack = str(_pack(tmp_path))
    project = json.loads(_run("schema", "project", "--pack", pack).output)
    charter = project["properties"]["project"]["properties"]
    assert charter["params"]["properties"]["risk_tolerance"] == {
        "type": "integer",
        "minimum": 1.0,
        "maximum": 25.0,
        "description": "Risk tolerance (probability x impact)",
    }
    assert charter["custom"]["properties"]["scorecard"]["type"] == "array"
    assert project["$defs"]["Deliverable"]["properties"]["custom"]["properties"]["doc_kind"]["enum"] == [
        "design",
        "test_report",
        "manual",
    ]
    facts = json.loads(_run("schema", "facts", "--pack", pack).output)
    assert facts["properties"]["params"]["properties"]["risk_tolerance"]["type"] == "integer"
    assert facts["$defs"]["Risk"]["properties"]["custom"]["properties"]["knock_out"]["type"] == "boolean"
    plain = json.loads(_run("schema", "project").output)
    assert plain["properties"]["project"]["properties"]["custom"]["type"] == "object"  # free-form without a pack
