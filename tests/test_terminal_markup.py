"""Names are printed as text: console markup (``[/x]``, ``[bold]``) in a project name, a risk title, a
waiver reason or an approval comment prints as typed in every command and never breaks one; control
characters (ANSI escape sequences, bidi overrides) are shown as escapes, never sent to the terminal.
(Web pages and PDFs are rendered by Jinja2 with autoescape on: brackets are not markup there.)"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lifecycle.cli.main import cli
from lifecycle.cli.output import TextConsole, echo, esc, plain_text

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "en-clinic-portal.yaml"
CODE = "NHP-PORTAL-2026"
NAME = "Portal [/x] [bold]loud[/bold] [link=http://x.example]here[/link]"
RISK = "Vendor [/red] API [blink]late[/blink]"
REASON = "Accepted [/x] at [bold]steering[/bold]"
COMMENT = "Fine [/] by me [i]really[/i]"
ADMIN = "admin@pmo.example"
SPONSOR = "richard.ashworth@northbridge.example.com"


def run(*args: str, code: int = 0) -> str:
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == code, res.output + (repr(res.exception) if res.exception else "")
    return res.output


@pytest.fixture
def hostile(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The English sample in planning, its name and a risk title full of markup, with a waiver and a vote."""
    monkeypatch.setenv("PMO_TODAY", "2026-11-26")
    monkeypatch.delenv("PMO_USER", raising=False)
    run("user", "add", ADMIN, "--name", "PMO Admin", "--role", "pmo_admin", "--no-password")
    monkeypatch.setenv("PMO_USER", ADMIN)
    run("user", "add", SPONSOR, "--name", "Richard Ashworth", "--no-password")
    text = SAMPLE.read_text(encoding="utf-8")
    text = text.replace("  name: Northbridge patient portal and CRM rollout\n", f"  name: '{NAME}'\n", 1)
    text = text.replace(
        "    title: Practice management system vendor does not grant API access in time for integration\n",
        f"    title: '{RISK}'\n",
        1,
    )
    project = tmp_path / "hostile.yaml"
    project.write_text(text, encoding="utf-8")
    run("apply", str(project))
    run("advance", CODE, "--to", "planning")
    monkeypatch.setenv("PMO_USER", SPONSOR)
    out = run("gate", "check", CODE, "--json", code=1)
    rule = next(r["id"] for r in json.loads(out)["results"] if r["outcome"] == "fail")
    run("gate", "waive", CODE, "--rule", rule, "--as", "sponsor", "--reason", REASON, "--until", "2027-01-15")
    run("gate", "approve", CODE, "--as", "sponsor", "--comment", COMMENT)


def test_markup_in_names_reasons_and_comments_prints_as_typed(hostile):
    listed = run("list")
    assert NAME in listed
    shown = run("show", CODE)
    assert NAME in shown and RISK in shown
    report = run("report", CODE)
    assert NAME in report and RISK in report
    checked = run("gate", "check", CODE, code=1)
    assert NAME not in checked  # the decision names the code; the waiver and the vote print whole
    assert REASON in checked and COMMENT in checked
    swept = run("gate", "sweep")
    assert CODE in swept
    trail = run("audit", "show", CODE)
    assert "gate.waiver" in trail and "gate.approval" in trail


def test_control_characters_are_shown_not_obeyed():
    assert plain_text("red\x1b[31m!\x07 \u202eevil\n\tok") == "red\\x1b[31m!\\x07 \\u202eevil\n\tok"
    assert esc("[/x] [bold] \x1b[2J") == "\\[/x] \\[bold] \\x1b[2J"
    buf = io.StringIO()
    out = TextConsole(file=buf, force_terminal=True, color_system="standard", highlight=False)
    out.print(f"[bold]{esc('name')}[/bold] raw \x1b[2J \x9b31m tail")
    text = buf.getvalue()
    assert "\x1b[2J" not in text and "\x9b" not in text
    assert "\\x1b[2J" in text and "\\x9b31m" in text
    assert "\x1b[1m" in text  # our own styling still reaches the terminal


def test_a_value_that_escaped_escaping_is_printed_literally_not_a_crash():
    buf = io.StringIO()
    TextConsole(file=buf, width=200).print("project [/x] closes [bold]nothing")
    assert buf.getvalue().strip() == "project [/x] closes [bold]nothing"


def test_plain_lines_show_control_characters(capsys):
    echo("reason \x1b]0;title\x07 done")
    assert capsys.readouterr().out == "reason \\x1b]0;title\\x07 done\n"
