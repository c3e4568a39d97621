"""Shared fixtures of the rule-engine tests: the default pack (loaded once) and the sample projects."""

from __future__ import annotations

import dataclasses

import pytest

from lifecycle.domain.model import Project
from lifecycle.load.projectfile import load_project_file
from lifecycle.load.rulepack import RulePack, load_pack
from tests.rules.helpers import DATA, DEFAULT_PACK


def _project(name: str) -> Project:
    pf = load_project_file(DEFAULT_PACK / "tests" / "fixtures" / name)
    return dataclasses.replace(pf.project, phase=pf.phase or "")


@pytest.fixture(scope="session")
def default_pack() -> RulePack:
    return load_pack(DEFAULT_PACK)


@pytest.fixture(scope="session")
def mini_pack() -> RulePack:
    return load_pack(DATA / "mini_pack")


@pytest.fixture(scope="session")
def planned() -> Project:
    """A well-planned project at the end of planning (phase planning)."""
    return _project("planned.yaml")


@pytest.fixture(scope="session")
def completed() -> Project:
    """The same project delivered, accepted and handed over (phase closure)."""
    return _project("completed.yaml")
