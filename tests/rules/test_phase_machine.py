"""The phase state machine: allowed moves, loops, hold/resume, cancel and refused moves."""

from __future__ import annotations

import pytest

from lifecycle.domain.lifecycle import PhaseMachine, PhaseState
from lifecycle.errors import IllegalTransition, InvalidInput


@pytest.fixture(scope="module")
def machine(default_pack) -> PhaseMachine:
    return default_pack.machine


def test_allowed_moves(machine):
    assert [(m.name, m.dest) for m in machine.moves("control")] == [
        ("corrective_action", "execution"),
        ("replan", "planning"),
        ("control_to_closure", "closure"),
        ("hold", "on_hold"),
        ("cancel", "cancelled"),
    ]
    assert machine.moves("closed") == []
    assert [m.dest for m in machine.moves("on_hold", "execution")] == ["execution", "cancelled"]


def test_forward_path_and_loops(machine):
    state = PhaseState("initiation")
    for name, dest in [
        ("initiation_to_planning", "planning"),
        ("planning_to_execution", "execution"),
        ("execution_to_control", "control"),
        ("corrective_action", "execution"),
        ("execution_to_control", "control"),
        ("replan", "planning"),
        ("planning_to_execution", "execution"),
        ("execution_to_control", "control"),
        ("control_to_closure", "closure"),
        ("closure_to_closed", "closed"),
    ]:
        state = machine.perform(state.phase, name, state.phase_before_hold)
        assert state == PhaseState(dest)


def test_hold_remembers_and_resume_returns(machine):
    held = machine.perform("control", "hold")
    assert held == PhaseState("on_hold", "control")
    assert machine.move_to("on_hold", "control", "control").name == "resume"
    assert machine.perform("on_hold", "resume", "control") == PhaseState("control")
    with pytest.raises(IllegalTransition) as exc:
        machine.move_to("on_hold", "execution", "control")
    assert "resumes to 'control', not 'execution'" in str(exc.value)
    with pytest.raises(IllegalTransition, match="phase before the hold is unknown"):
        machine.perform("on_hold", "resume", "")
    with pytest.raises(IllegalTransition, match="'hold' cannot be taken from 'on_hold'"):
        machine.perform("on_hold", "hold", "control")


def test_cancel_from_any_active_phase_and_from_hold(machine):
    for phase in ("initiation", "planning", "execution", "control", "closure"):
        assert machine.perform(phase, "cancel") == PhaseState("cancelled")
    assert machine.perform("on_hold", "cancel", "planning") == PhaseState("cancelled")
    with pytest.raises(IllegalTransition, match="final phase"):
        machine.move_to("cancelled", "planning")


def test_illegal_moves_list_what_is_allowed(machine):
    with pytest.raises(IllegalTransition) as exc:
        machine.move_to("planning", "closure")
    assert str(exc.value) == (
        "no transition from 'planning' to 'closure'; allowed: execution "
        "(planning_to_execution), on_hold (hold), cancelled (cancel)"
    )
    with pytest.raises(IllegalTransition, match="unknown phase 'desing'"):
        machine.moves("desing")
    with pytest.raises(InvalidInput, match=r"unknown phase 'excution' \(did you mean 'execution'\?\)"):
        machine.move_to("planning", "excution")  # a mistyped target is bad input (exit 2), not a refusal
    with pytest.raises(IllegalTransition, match=r"unknown transition 'advanse'"):
        machine.perform("planning", "advanse")
    with pytest.raises(IllegalTransition, match="already in 'planning'"):
        machine.move_to("planning", "planning")
    with pytest.raises(IllegalTransition, match="cannot be taken from 'initiation'"):
        machine.perform("initiation", "closure_to_closed")


def test_resolve(machine):
    assert machine.resolve("execution").name == "execution_to_control"
    assert machine.resolve("control").name == "control_to_closure"
    assert machine.resolve("on_hold", "planning").name == "resume"
    assert machine.resolve("control", to="planning").name == "replan"
    with pytest.raises(IllegalTransition, match="leads to 'execution', not 'closure'"):
        machine.resolve("control", transition="corrective_action", to="closure")
    with pytest.raises(IllegalTransition, match="no next phase"):
        machine.resolve("closed")


def test_machine_is_built_with_transitions_on_a_plain_object(machine, monkeypatch):
    import transitions

    seen = {}
    real = transitions.Machine

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(transitions, "Machine", spy)
    machine.perform("planning", "planning_to_execution")
    assert seen["auto_transitions"] is False and seen["ignore_invalid_triggers"] is False
    assert type(seen["model"]).__module__ == "lifecycle.domain.lifecycle"
