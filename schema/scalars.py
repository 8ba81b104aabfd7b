"""Scalars that refuse values no field could hold."""

from __future__ import annotations

import decimal
from typing import Any

from strawberry.schema.types.scalar import ScalarDefinition

from history.errors import BadInput

# Far wider than any decimal field here (12 digits), narrow enough that no
# value can blow up formatting or arithmetic.
MAX_EXPONENT = 40


def parse_decimal(value: Any) -> decimal.Decimal:
    """A finite decimal of sensible magnitude, from a string or a number.

    Raises:
        BadInput: any other value; graphql-core answers it as a validation
            error (a literal) or a variable it cannot coerce, with this message.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadInput('Decimal values are strings, e.g. "19.90".')
    try:
        number = decimal.Decimal(str(value))
    except decimal.DecimalException as error:
        raise BadInput(f"{value!r} is not a decimal number.") from error
    if not number.is_finite():
        raise BadInput(f"{value!r} is not a finite decimal number.")
    if number and abs(number.adjusted()) > MAX_EXPONENT:
        raise BadInput(f"{value!r} is out of range.")
    return number


FiniteDecimal = ScalarDefinition(
    name="Decimal",
    description='A finite decimal number, as a string: "19.90".',
    specified_by_url=None,
    serialize=str,
    parse_value=parse_decimal,
    parse_literal=None,
    origin=decimal.Decimal,
)
