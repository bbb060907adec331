"""The arrows of DESIGN §2 on the desktop side: only app/desktop.py imports `webview`, and only the
demo launcher app/demo.py imports `license_server`."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"


def importers_of(package: str) -> set[str]:
    found = set()
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            if any(name == package or name.startswith(package + ".") for name in names):
                found.add(path.relative_to(APP.parent).as_posix())
    return found


def test_only_the_window_module_imports_webview():
    assert importers_of("webview") == {"app/desktop.py"}


def test_only_the_demo_launcher_imports_the_license_server():
    assert importers_of("license_server") == {"app/demo.py"}
