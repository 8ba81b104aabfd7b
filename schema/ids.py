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
        pk = int(global_id.node_id)
    except ValueError:
        return None
    # Keys are 64-bit integers: anything else names nothing.
    return pk if -(2**63) <= pk < 2**63 else None
