"""pmo-lifecycle: a workflow engine for client projects driven by PMO-defined phase-gate rules."""
