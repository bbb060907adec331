"""The project's account of itself (README.md, docs/*.md) names things that exist: make targets, the commands of
`license-server` and `rentdesk` with their options, the server's settings, environment variables, HTTP routes,
files, screenshots and the tests it cites. Each check reads the documents as they are, so a renamed target,
command, option, setting, route or test fails here instead of leaving a document that sends an operator astray."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.cli import build_parser
from license_server import create_app
from license_server.cli import _parser as license_server_parser
from license_server.config import DEFAULTS
from tests.support.license_server import DEMO_KEY

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
#: benchmarks.md's sections after "Method" are a log of past measurements: they name code as it was then.
BENCH_LOG_START = "## Findings and optimisations"


def text_of(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    if path.name == "benchmarks.md":
        text = text.split(BENCH_LOG_START)[0]
    return text


def code_of(path: Path) -> list[tuple[int, str]]:
    """Every inline code span and every line of a fenced block, with its line number: where commands are shown."""
    found, fenced = [], False
    for number, line in enumerate(text_of(path).splitlines(), start=1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced or line.startswith("    "):
            found.append((number, line))
        else:
            found.extend((number, span) for span in re.findall(r"`([^`]+)`", line))
    return found


def where(path: Path, number: int) -> str:
    return f"{path.relative_to(REPO)}:{number}"


def subcommands(parser) -> dict:
    """name → subparser of an argparse program."""
    [group] = [action for action in parser._actions if action.__class__.__name__ == "_SubParsersAction"]
    return dict(group.choices)


def options_after(command_line: str) -> list[str]:
    """The --options written after a command, up to a shell comment."""
    return re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", command_line.split("#")[0])


def test_the_readme_starts_with_make_run_and_make_test():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```")[1]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()[1:] if line.strip()]
    assert commands == ["make run", "make test"], first_block


def test_every_make_target_the_documents_name_is_in_the_makefile():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z0-9_-]*):", makefile, flags=re.M))
    missing = [f"{where(path, number)}: make {target}" for path in DOCS for number, code in code_of(path)
               for target in re.findall(r"\bmake ([a-z][a-z0-9_-]*)", code) if target not in targets]
    assert not missing, missing


def test_every_license_server_command_and_option_the_documents_show_exists():
    commands = subcommands(license_server_parser())
    shown, wrong = 0, []
    for path in DOCS:
        for number, code in code_of(path):
            # the program opens the command (a path before it at most); docs/operating.md runs it as ls-admin, the
            # same program as the server's user (elsewhere `license-server` is also that user's and group's name)
            for match in re.finditer(r"^\s*(?:\S*/)?(?:license-server|ls-admin)\s+([a-z][a-z-]*)([^|]*)", code):
                name, rest = match.groups()
                if name not in commands:
                    wrong.append(f"{where(path, number)}: license-server {name}")
                    continue
                shown += 1
                known = set(commands[name]._option_string_actions)
                wrong += [f"{where(path, number)}: license-server {name} {option}" for option in options_after(rest)
                          if option not in known]
    assert not wrong, wrong
    assert shown >= len(commands) - 1  # the documents show the commands, not a few of them


def test_every_rentdesk_command_and_option_the_documents_show_exists():
    parser = build_parser()
    commands = subcommands(parser)
    top = set(parser._option_string_actions)
    wrong = []
    for path in DOCS:
        for number, code in code_of(path):
            for match in re.finditer(r"(?<![\w/-])rentdesk((?:\s+--?[a-z][a-z-]*(?:\s+[A-Z]+)?)*)(?:\s+([a-z][a-z-]*))?"
                                     r"([^|]*)", code):
                before, name, rest = match.groups()
                wrong += [f"{where(path, number)}: rentdesk {option}" for option in options_after(before)
                          if option not in top]
                if name is None:
                    continue
                if name not in commands:
                    wrong.append(f"{where(path, number)}: rentdesk {name}")
                    continue
                known = set(commands[name]._option_string_actions)
                wrong += [f"{where(path, number)}: rentdesk {name} {option}" for option in options_after(rest)
                          if option not in known]
    assert not wrong, wrong


def readme_settings_table() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("| key | default | meaning |")[1].split("\n\n")[0]
    return [key for row in table.splitlines()[2:] for key in re.findall(r"`([A-Z_]+)`", row.split("|")[1])]


def test_the_readmes_settings_table_names_every_setting_of_the_server_and_no_other():
    listed = readme_settings_table()
    assert sorted(set(listed) - {"CLOCK"}) == sorted(DEFAULTS)


def test_every_license_server_variable_the_documents_and_deploy_files_name_is_a_setting():
    sources = DOCS + [REPO / "deploy" / "license-server.env"]
    wrong = [f"{where(path, number)}: LICENSE_SERVER_{key}" for path in sources
             for number, line in enumerate(text_of(path).splitlines(), start=1)
             for key in re.findall(r"LICENSE_SERVER_([A-Z][A-Z_]*[A-Z])", line) if key not in DEFAULTS]
    assert not wrong, wrong


def test_every_rentdesk_variable_the_documents_name_is_read_by_the_code():
    code = "\n".join(path.read_text(encoding="utf-8") for folder in ("app", "tests", "build", "bench")
                     for path in (REPO / folder).rglob("*.py")) + (REPO / "Makefile").read_text(encoding="utf-8")
    named = {(where(path, number), name) for path in DOCS for number, line in enumerate(text_of(path).splitlines(), 1)
             for name in re.findall(r"\b(RENTDESK_[A-Z][A-Z_]*[A-Z])\b", line)}
    assert named  # RENTDESK_HOME at least
    wrong = [f"{place}: {name}" for place, name in sorted(named) if f'"{name}"' not in code and f"{name}=" not in code]
    assert not wrong, wrong


@pytest.fixture(scope="module")
def routes(tmp_path_factory):
    """The license server's routes, METRICS on so /metrics is one of them: (pattern, methods)."""
    folder = tmp_path_factory.mktemp("server")
    app = create_app({"DATABASE_URL": f"sqlite:///{folder / 'ls.sqlite3'}", "SIGNING_KEY_PATH": str(DEMO_KEY),
                      "INSTANCE_PATH": str(folder), "METRICS": True})
    found = []
    for rule in app.url_map.iter_rules():
        pattern = re.sub(r"<[^>]+>", "[^/]+", re.escape(rule.rule).replace(r"\<", "<").replace(r"\>", ">"))
        found.append((re.compile(pattern + "$"), rule.methods))
    return found


def test_every_license_server_address_the_documents_show_is_served(routes):
    wrong, seen = [], 0
    for path in DOCS:
        if path.name in ("reliability.md", "benchmarks.md"):  # they show what attackers tried, unknown paths too
            continue
        for number, line in enumerate(text_of(path).splitlines(), start=1):
            for method, address in re.findall(r"(?:\b(GET|POST) )?(/(?:api/v1|customer)/[\w<>./…-]*|/metrics\b)", line):
                address = address.split("?")[0].rstrip(".").replace("…", "<id>")
                address = re.sub(r"<[^>]+>", "x", address)
                if address.endswith("/"):  # a prefix (`/api/`, `/customer/`), not an address
                    continue
                seen += 1
                if not any(pattern.match(address) and (not method or method in methods) for pattern, methods in routes):
                    wrong.append(f"{where(path, number)}: {method} {address}".replace(" ", " ", 1))
    assert seen >= 10
    assert not wrong, wrong


def test_every_screenshot_the_documents_show_is_there():
    shown = {(path, name) for path in DOCS for name in re.findall(r"screenshots/([\w-]+\.png)", text_of(path))}
    assert len(shown) >= 19
    missing = [f"{path.name}: {name}" for path, name in shown if not (REPO / "docs" / "screenshots" / name).is_file()]
    assert not missing, missing


def test_every_repository_file_the_documents_name_exists():
    wrong = []
    for path in DOCS:
        for number, code in code_of(path):
            for name in re.findall(r"(?<![\w./-])((?:app|license_server|rental|tests|deploy|build|bench|templates|static"
                                   r"|keys)/[\w./-]*[\w])", code):
                if name.startswith("build/out/") or "*" in name:  # made by a run, not kept in the repository
                    continue
                if not (REPO / name).exists():
                    wrong.append(f"{where(path, number)}: {name}")
    assert not wrong, wrong


def test_every_test_the_documents_cite_exists():
    tests = {path.relative_to(REPO).as_posix(): path.read_text(encoding="utf-8")
             for path in (REPO / "tests").rglob("test_*.py")}
    by_name = {}
    for name, source in tests.items():
        by_name.setdefault(Path(name).name, []).append(source)
    wrong, cited = [], 0
    for path in DOCS:
        for number, code in code_of(path):
            if "::" not in code or "test_" not in code:
                continue
            file, *functions = code.split("::")
            sources = tests.get(file) and [tests[file]] or by_name.get(Path(file).name)
            if file and not sources:
                wrong.append(f"{where(path, number)}: {file}")
                continue
            sources = sources or last_sources  # `::test_…` goes on with the file cited before it
            for function in functions:
                function = function.split("[")[0].strip()
                if not function.startswith("test_"):
                    continue
                cited += 1
                if not any(re.search(rf"def {re.escape(function)}\b", source) for source in sources):
                    wrong.append(f"{where(path, number)}: {file}::{function}")
            last_sources = sources
    assert cited >= 40
    assert not wrong, wrong
