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


# ------------------------------------------------------------------ layers
# What each layer may import of ours (itself always). Faces reach the engine through services only.
# * load and expr go together: the loaders compile and check rule expressions at load time, and rule
#   evaluation reads the loaded rule pack; both stay below services and above the domain.
# * storage, documents and notify may read the workspace module (package data folders, settings
#   types): it is configuration, imports nothing of ours but errors, and holds no use case.
# * the CLI and the web face may import the flow table (package ``flows``, its ``__init__`` only) to
#   list and launch flows; they never import a flow module or a task.
# * the CLI may import the web face: `pmo serve` is the command that hosts it.
ALLOWED: dict[str, set[str]] = {
    "domain": {"errors"},
    "load": {"domain", "errors", "expr"},
    "expr": {"domain", "errors", "load"},
    "storage": {"domain", "errors", "workspace"},
    "documents": {"domain", "errors", "workspace"},
    "notify": {"domain", "errors", "workspace"},
    "services": {
        "domain",
        "load",
        "expr",
        "storage",
        "documents",
        "notify",
        "forecast",
        "errors",
        "workspace",
        "root",
    },
    "forecast": {"domain", "errors"},
    "cli": {"services", "errors", "flow-table", "web"},
    "web": {"services", "errors", "flow-table"},
    "flows": {"services", "errors"},
    "workspace": {"errors"},
    "errors": set(),
}
_SUBPACKAGES = ("domain", "load", "expr", "storage", "documents", "notify", "forecast", "services", "cli", "web")


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "flows":
        return "flow-table" if len(parts) == 1 else "flows"
    if parts[0] != "lifecycle":
        return None
    if len(parts) == 1:
        return "root"
    if parts[1] in _SUBPACKAGES:
        return parts[1]
    return parts[1] if parts[1] in ("errors", "workspace") else "other"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _our_imports(path: Path) -> set[str]:
    """Every module of ours ``path`` imports, anywhere in the file, relative imports resolved."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            out.add(base)
            if not node.module:  # `from . import x`: x may be a module of the package
                out |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in out if _layer(m) is not None}


def _violations(paths: list[Path]) -> list[str]:
    found = []
    for path in paths:
        own = _layer(_module_name(path))
        if own not in ALLOWED:
            continue
        for mod in sorted(_our_imports(path)):
            theirs = _layer(mod)
            if theirs != own and theirs not in ALLOWED[own]:
                found.append(f"{path.relative_to(ROOT)} ({own}) imports {mod} ({theirs})")
    return found


def _sources() -> list[Path]:
    paths = list((ROOT / "lifecycle").rglob("*.py")) + list((ROOT / "flows").rglob("*.py"))
    return [p for p in paths if "migrations" not in p.parts]


def test_every_layer_imports_only_what_it_may():
    assert not _violations(_sources())


def _store_uses(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "store"]


def test_faces_do_not_reach_the_store_through_the_context():
    """A face gets data from a service, never from ``ctx.store`` (the services are the only door)."""
    faces = [ROOT / "flows", ROOT / "lifecycle" / "cli", ROOT / "lifecycle" / "web"]
    found = {str(p.relative_to(ROOT)): lines for f in faces for p in f.rglob("*.py") if (lines := _store_uses(p))}
    assert not found, found


def test_the_layer_check_sees_relative_and_late_imports(tmp_path, monkeypatch):
    fake = tmp_path / "lifecycle"
    (fake / "cli").mkdir(parents=True)
    (fake / "domain").mkdir()
    (fake / "cli" / "x.py").write_text(
        "from ..storage.sql import SqlStore\n"
        "from lifecycle.services import gates\n"
        "def f():\n    from lifecycle.load import rulepack\n",
        encoding="utf-8",
    )
    (fake / "domain" / "y.py").write_text("from . import model\nfrom ..services import gates\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    found = _violations([fake / "cli" / "x.py", fake / "domain" / "y.py"])
    assert found == [
        "lifecycle/cli/x.py (cli) imports lifecycle.load (load)",
        "lifecycle/cli/x.py (cli) imports lifecycle.storage.sql (storage)",
        "lifecycle/domain/y.py (domain) imports lifecycle.services (services)",
    ]


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
    assert "lifecycle/locale/zh_TW/LC_MESSAGES/documents.po" in names and "lifecycle/locale/web.pot" in names
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
