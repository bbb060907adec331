"""The screens' templates compiled when the bundle is built (issue 25): the window's first page is drawn without
compiling base.html, unlock.html and their macros at every launch, which took about as long as building the app.

build/rentdesk.spec writes them (`python -m app.web.compiled DIR`) into the bundle's compiled-templates/, and
create_app reads them from there (COMPILED_TEMPLATES names another folder). Read only, never written at run time.
Jinja checks each against its template's source (a checksum) and the Python that compiled it: a template changed
since, or another Python, is compiled as usual, so the folder can be out of date but never wrong.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from jinja2 import BytecodeCache

FOLDER = "compiled-templates"


class CompiledTemplates(BytecodeCache):
    """Jinja's bytecode of each template, one file per template name (not per path: the bundle moves when
    installed). `hits` counts the templates served from the folder, for the tests."""

    def __init__(self, folder: str | Path, *, writable: bool = False):
        self.folder = Path(folder)
        self.writable = writable
        self.hits = 0

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        return hashlib.sha256(name.encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.jinja"

    def load_bytecode(self, bucket) -> None:
        try:
            with open(self._path(bucket.key), "rb") as f:
                bucket.load_bytecode(f)  # left empty when the source or the Python differ
        except OSError:
            return
        if bucket.code is not None:
            self.hits += 1

    def dump_bytecode(self, bucket) -> None:
        if self.writable:
            with open(self._path(bucket.key), "wb") as f:
                bucket.write_bytecode(f)


def use(app, folder: str | Path) -> CompiledTemplates | None:
    """Serve app's templates from folder when it exists (the bundle's); None when it does not."""
    if not Path(folder).is_dir():
        return None
    cache = CompiledTemplates(folder)
    app.jinja_env.bytecode_cache = cache
    return cache


def write(app, folder: str | Path) -> list[str]:
    """Compile every template of app into folder (made if missing); the names compiled."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    env = app.jinja_env
    before = env.bytecode_cache
    env.bytecode_cache = CompiledTemplates(folder, writable=True)
    try:
        names = sorted(env.list_templates(extensions=["html"]))
        for name in names:
            env.get_template(name)
    finally:
        env.bytecode_cache = before
    return names


def main(argv: list[str] | None = None) -> int:
    """`python -m app.web.compiled DIR`: the bundle's compiled templates (build/rentdesk.spec runs it)."""
    import tempfile

    from app import create_app

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m app.web.compiled DIR", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="rentdesk-compile-") as home:
        app = create_app({"RENTDESK_HOME": home, "COMPILED_TEMPLATES": ""})
        names = write(app, args[0])
    print(f"compiled {len(names)} templates into {args[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
