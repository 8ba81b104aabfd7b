"""Relay global ids."""

from __future__ import annotations

from strawberry import relay


def pk_of(global_id: relay.GlobalID, type_name: str) -> int | None:
    """The primary key a global id names, or None unless it names a `type_name`."""
    if global_id.type_name != type_name:
        return None
    try:
        return int(global_id.node_id)
    except ValueError:
        return None
