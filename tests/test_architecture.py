"""Architecture rules: the pure domain, the light CLI start, module docstrings, installability."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("prefect", "weasyprint", "sqlalchemy")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0] if not node.module.startswith("lifecycle.") else node.module)
    return out


def test_domain_imports_only_stdlib_and_transitions():
    allowed_third_party = {"transitions"}
    stdlib = set(sys.stdlib_module_names)
    for path in (ROOT / "lifecycle" / "domain").rglob("*.py"):
        for mod in _imports(path):
            if mod.startswith("lifecycle."):
                assert mod.startswith("lifecycle.domain") or mod == "lifecycle.errors", f"{path.name} imports {mod}"
            else:
                assert mod in stdlib or mod in allowed_third_party or mod == "__future__", f"{path.name} imports {mod}"


def test_nothing_below_services_imports_services_or_cli():
    for sub in ("domain", "load", "storage", "documents"):
        for path in (ROOT / "lifecycle" / sub).rglob("*.py"):
            for mod in _imports(path):
                assert not mod.startswith(("lifecycle.services", "lifecycle.cli")), f"{path} imports {mod}"


def test_every_module_says_its_role():
    for path in list((ROOT / "lifecycle").rglob("*.py")) + list((ROOT / "flows").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert doc and len(doc) > 20, f"{path.relative_to(ROOT)} has no module docstring"


def test_help_imports_no_heavy_library():
    code = (
        "import sys; sys.argv=['pmo','--help']\n"
        "from lifecycle.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY', [m for m in sys.modules if m.split('.')[0] in {HEAVY!r}])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert "Commands:" in out and "HEAVY []" in out, out


def test_published_project_schema_is_current():
    from lifecycle.load.projectfile import json_schema

    published = json.loads((ROOT / "schemas" / "project.schema.json").read_text(encoding="utf-8"))
    assert published == json.loads(json.dumps(json_schema())), "run: pmo schema project > schemas/project.schema.json"


def test_published_facts_schema_is_current():
    from lifecycle.domain.facts import facts_schema

    published = json.loads((ROOT / "schemas" / "facts.schema.json").read_text(encoding="utf-8"))
    assert published == json.loads(json.dumps(facts_schema())), "run: pmo schema facts > schemas/facts.schema.json"


@pytest.mark.slow
def test_installed_wheel_finds_rules_and_templates_from_any_directory(tmp_path):
    """A normal (not editable) install ships rules/ and templates/ inside the package."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next((tmp_path / "dist").glob("pmo_lifecycle-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "lifecycle/_data/rules/default/lifecycle.yaml" in names
    assert any(n.startswith("lifecycle/_data/templates/") and n.endswith(".html") for n in names)
    assert any(n.startswith("lifecycle/storage/migrations/versions/") for n in names)
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "from lifecycle.workspace import package_data_dir; import lifecycle;"
        "print(lifecycle.__file__); print(package_data_dir('rules')); print(package_data_dir('templates'))"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=elsewhere, env=env, check=True
    ).stdout.splitlines()
    assert out[0].startswith(str(target))
    assert out[1].startswith(str(target)) and out[2].startswith(str(target))


def test_package_version_matches_pyproject():
    import tomllib

    import lifecycle

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert lifecycle.__version__ == meta["project"]["version"]


def _environment_reads(path: Path) -> list[int]:
    """Lines of ``path`` that read the process environment (``os.environ``, ``os.getenv``, ``environ``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = ("environ", "getenv", "putenv", "unsetenv")
    attributes = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in names]
    imported = [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module == "os" and any(a.name in names for a in n.names)
    ]
    return sorted(attributes + imported)


def test_services_do_not_read_the_environment():
    """The environment is read once at the edge (workspace loading, faces) into settings passed down."""
    offenders = {
        str(path.relative_to(ROOT)): lines
        for path in (ROOT / "lifecycle" / "services").rglob("*.py")
        if (lines := _environment_reads(path))
    }
    assert not offenders, offenders


def test_the_environment_check_catches_a_read(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom os import getenv\nX = os.environ.get('A')\n", encoding="utf-8")
    assert _environment_reads(bad) == [2, 3]
