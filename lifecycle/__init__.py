"""pmo-lifecycle: a workflow engine for client projects driven by PMO-defined phase-gate rules."""

__version__ = "0.1.0"  # kept equal to pyproject.toml's version (tests/test_architecture.py checks)
