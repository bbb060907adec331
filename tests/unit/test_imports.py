"""The arrows of DESIGN §2: rental is pure, imports the standard library and cryptography only (an allow-list;
that it imports neither program nor a framework is import-linter's contract in pyproject.toml)."""

import ast
import pathlib

RENTAL = pathlib.Path(__file__).resolve().parents[2] / "rental"

ALLOWED_STDLIB = {
    "__future__", "dataclasses", "decimal", "re", "typing", "types", "functools", "json",
    "base64", "binascii", "hashlib", "hmac", "struct", "enum", "itertools", "collections", "math",
    "string", "unicodedata", "secrets", "os", "rental", "bisect",
}
ALLOWED_THIRD_PARTY = {"cryptography"}
#: os is allowed for os.urandom and the two explicit key-file loaders of signing.py only
IO_ONLY_IN = {"os": {"signing.py"}, "pathlib": {"signing.py"}}


def imported_modules(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.split(".")[0], node.lineno


def test_rental_imports_only_the_standard_library_and_cryptography():
    offenders = []
    for path in sorted(RENTAL.glob("*.py")):
        for module, line in imported_modules(path):
            if module in IO_ONLY_IN:
                if path.name not in IO_ONLY_IN[module]:
                    offenders.append(f"{path.name}:{line} imports {module}")
            elif module not in ALLOWED_STDLIB | ALLOWED_THIRD_PARTY:
                offenders.append(f"{path.name}:{line} imports {module}")
    assert offenders == []


def test_rental_never_reads_the_wall_clock():
    for path in sorted(RENTAL.glob("*.py")):
        source = path.read_text()
        for call in ("time.time(", "datetime.now(", "datetime.utcnow(", "time.monotonic("):
            assert call not in source, f"{path.name} calls {call}"


def test_the_import_checker_sees_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import sqlite3\nfrom flask import Flask\n")
    assert [m for m, _ in imported_modules(bad)] == ["sqlite3", "flask"]
