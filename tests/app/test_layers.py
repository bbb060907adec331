"""The app's core stays below the UI (DESIGN §2, §6): no Flask, no webview, no license server in it."""

import ast
import pathlib

APP = pathlib.Path(__file__).resolve().parents[2] / "app"
CORE = ["paths.py", "clock.py", "store.py", "models.py", "settings.py", "replica.py", "outbox.py", "projection.py",
        "checks.py", "sync.py", "errors.py", "views.py", "backup.py", "migrations/__init__.py", "migrations/env.py",
        *(f"services/{path.name}" for path in sorted((APP / "services").glob("*.py")))]


def test_only_the_clock_module_reads_the_wall_clock():
    for name in CORE:
        if name != "clock.py":
            source = (APP / name).read_text()
            assert "time.time(" not in source and "datetime.now(" not in source, name


def test_no_app_test_sleeps_to_wait_for_time():
    """Time is injected (DESIGN §7): a test moves a clock or waits on an event, never on a timer."""
    tests = pathlib.Path(__file__).resolve().parent
    for path in sorted(tests.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, (ast.Attribute, ast.Name)):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
                assert name != "sleep", f"{path.name}:{node.lineno} sleeps"
