"""Every CSV RentDesk writes (the statement download, `rentdesk export`): cells a spreadsheet shows as text, never
runs as a formula, and a UTF-8 byte order mark so Excel reads accents right (issue 23)."""

from __future__ import annotations

import csv
import io
from typing import Iterable, Sequence

#: Excel opens a CSV as UTF-8 only when it starts with this mark (else "Émile" shows as "Ã‰mile").
BOM = "\ufeff"
#: What a spreadsheet reads as the start of a formula (OWASP, "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """A CSV cell a spreadsheet shows as text: one that begins like a formula gets a leading apostrophe
    (an account named =HYPERLINK(…) must not become a live link). Numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(rows: Iterable[Sequence], delimiter: str = ",") -> str:
    """Rows as CSV text: the byte order mark, then every cell through spreadsheet_safe (the one CSV writer)."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, delimiter=delimiter)
    for row in rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return out.getvalue()
