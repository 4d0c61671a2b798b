"""Usage numbers as the wire sends them, read one way everywhere (pure, no I/O).

A count or an amount may come as a number or a numeric string; anything negative, not finite,
or 2**53 and above (beyond what a JavaScript server counts exactly) is unknown (``None``), never
an ``OverflowError`` for a huge integer.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["MAX_USAGE", "float_from_wire", "int_from_wire"]

#: Usage numbers must be below 2**53, the largest integer a JavaScript server counts exactly.
MAX_USAGE = 2**53


def int_from_wire(value: Any) -> int | None:
    """A usage count from an int, an integral float or a numeric string, in ``[0, 2**53)``;
    ``None`` (unknown) otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if 0 <= value < MAX_USAGE else None
    number = float_from_wire(value)
    if number is None or not number.is_integer():
        return None
    return int(number)


def float_from_wire(value: Any) -> float | None:
    """A usage amount from a number or numeric string, finite and in ``[0, 2**53)``; ``None``
    (unknown) otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        if isinstance(value, int) and not 0 <= value < MAX_USAGE:
            return None
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) and 0 <= number < MAX_USAGE else None
