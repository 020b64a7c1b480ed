"""CSV cells a spreadsheet will not run: the one rule for every CSV twitchcam writes by hand
or for people (the treatment log, the batch table).

A cell that starts with = + - @, a tab or a carriage return is a formula to Excel,
LibreOffice and Google Sheets (``=HYPERLINK(...)``, ``@SUM(...)``, ``=cmd|...``).  As
OWASP advises, such a cell is written with a leading apostrophe, which spreadsheets read as
"text" and hide.  `read_cell` undoes it, so twitchcam's own readers give back exactly the
value that was written; a value that itself starts with an apostrophe is protected the same
way so that it too comes back unchanged.
"""
from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def read_cell(text: str) -> str:
    """The value a cell written by `safe_cell` stands for."""
    if text.startswith(QUOTE) and text[1:2] and (text[1:2] in FORMULA_STARTS or text[1:2] == QUOTE):
        return text[1:]
    return text


def safe_cell(value):
    """`value` ready for a CSV cell: text that a spreadsheet would take for a formula gets a
    leading apostrophe; numbers and anything else are left as they are."""
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(FORMULA_STARTS) or read_cell(value) != value:
        return QUOTE + value
    return value
