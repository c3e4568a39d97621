"""The pure domain: model, validation, facts, lifecycle, gates, schedule and cost logic (stdlib + transitions)."""
