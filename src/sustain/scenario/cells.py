"""How text is kept in spreadsheet cells so that it is shown as text and reads back unchanged.

A spreadsheet runs a CSV cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return as
a formula (a name such as `=cmd|' /C calc'!A0` would start a program). Written to CSV, such
text gets a leading apostrophe, the spreadsheet's own mark for "this is text", which the
reader takes off again (as a spreadsheet does: a cell typed as `'x` holds `x`). In a workbook
the cell is stored as text with the quote-prefix style instead, and characters XML cannot
hold (control characters) are written with the workbook format's own escape, `_xHHHH_`.
"""

from __future__ import annotations

import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
TEXT_MARK = "'"
COMMENT = "#"  # starts a comment row in a scenario's CSV file

# Characters an XML 1.0 document cannot hold, and the workbook's escape for any character.
_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_OPENS_ESCAPE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def runs_as_formula(text: str) -> bool:
    """Whether a spreadsheet would take this text for a formula (a plain number it would
    not: `-80.5` is a longitude)."""
    return text.startswith(FORMULA_START) and not _is_number(text)


def to_csv(text: str) -> str:
    """Text for a CSV cell: marked as text where a spreadsheet would run it, where it would
    read as a comment row, or where it starts with the mark itself (so that reading it back
    is exact)."""
    marked = runs_as_formula(text) or text.startswith((TEXT_MARK, COMMENT))
    return TEXT_MARK + text if marked else text


def from_csv(cell: str) -> str:
    """A CSV cell's text, without the mark that says it is text."""
    return cell[1:] if cell.startswith(TEXT_MARK) else cell


def to_workbook(text: str) -> str:
    """Text a workbook can hold: `_xHHHH_` where XML cannot hold a character, and the
    escape's own pattern escaped (its underscore as `_x005F_`)."""
    # Every underscore that opens the escape's pattern, overlapping ones too (`_x0041_x0042_`).
    text = _OPENS_ESCAPE.sub("_x005F_", text)
    return _NOT_IN_XML.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)


def from_workbook(text: str) -> str:
    """A workbook cell's text with its `_xHHHH_` escapes read."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
