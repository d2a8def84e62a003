"""Checks of the figures in an engine's options: each finite and within its range, and each
word one of its vocabulary, so that nonsense (a negative number of days, a weight of nan) is
refused with its name before any work, by the library and the command line alike."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

# The longest span Sustain accepts anywhere (a horizon, a lead time, days of cover).
CENTURY_DAYS = 36_525.0


def check_range(
    name: str,
    value: float | None,
    *,
    least: float | None = None,
    most: float | None = None,
    above: float | None = None,
    optional: bool = False,
) -> None:
    """Raise ValueError unless `value` is a finite number with least <= value <= most and
    value > above (bounds left None do not apply); None passes when `optional`."""
    if value is None and optional:
        return
    bounds = [
        f">= {least:g}" if least is not None else "",
        f"> {above:g}" if above is not None else "",
        f"<= {most:g}" if most is not None else "",
    ]
    wanted = " and ".join(b for b in bounds if b)
    expected = f"a finite number {wanted}".rstrip()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):  # numpy's too
        raise ValueError(f"{name} must be {expected}, not {value!r}")
    value = float(value)
    if (
        not math.isfinite(value)
        or (least is not None and value < least)
        or (most is not None and value > most)
        or (above is not None and value <= above)
    ):
        raise ValueError(f"{name} must be {expected}, not {value:g}")


def check_word(name: str, value: str, allowed: Iterable[str]) -> None:
    """Raise ValueError unless `value` is one of `allowed`."""
    words = tuple(allowed)
    if value not in words:
        raise ValueError(f'unknown {name} "{value}": use one of {", ".join(words)}')
