"""The vendored htmx is the pinned one (static/README.md): the file's SHA-256 is the checksum written there, and the
page loads that very file, so an upgrade that forgets the table, or the table that forgets the file, fails here."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "static"


def pinned() -> dict[str, str]:
    """file name → checksum, from static/README.md's "Pinned checksums" list."""
    readme = (STATIC / "README.md").read_text(encoding="utf-8")
    return dict(re.findall(r"^- `([\w.-]+\.js)`: `([0-9a-f]{64})`", readme, flags=re.M))


def test_the_vendored_htmx_has_the_checksum_pinned_in_static_readme():
    checksums = pinned()
    assert checksums, "static/README.md pins no file"
    for name, checksum in checksums.items():
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == checksum, name


def test_the_base_template_loads_the_pinned_htmx_and_no_other():
    base = (REPO / "templates" / "base.html").read_text(encoding="utf-8")
    loaded = set(re.findall(r"filename='(htmx[\w.-]*\.js)'", base))
    assert loaded and loaded == {name for name in pinned() if name.startswith("htmx")}
    assert sorted(path.name for path in STATIC.glob("htmx*.js")) == sorted(loaded)
