"""Paths shared by the rule-engine tests: the shipped default pack and this folder's test data."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PACK = ROOT / "rules" / "default"
DATA = Path(__file__).resolve().parent / "data"
