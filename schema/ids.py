"""Relay global ids, decoded leniently: a malformed id simply names nothing."""

from __future__ import annotations

from strawberry import relay


def pk_of(value: str | relay.GlobalID | None, type_name: str) -> int | None:
    """The primary key a global id names, or None unless it names a `type_name`."""
    if value is None:
        return None
    if isinstance(value, relay.GlobalID):
        global_id = value
    else:
        try:
            global_id = relay.GlobalID.from_id(value)
        except (ValueError, TypeError):  # GlobalIDValueError is a ValueError
            return None
    if global_id.type_name != type_name:
        return None
    try:
        return int(global_id.node_id)
    except ValueError:
        return None
