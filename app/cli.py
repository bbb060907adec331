"""The `rentdesk` command (DESIGN §6): `rentdesk` opens the window, `--browser` the default browser,
`serve --port N` serves only, `demo` runs the whole system on this computer."""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = """\
RentDesk: rent PBX licenses on prepaid service credits (iSC), offline on a laptop.

  rentdesk                  open the RentDesk window
  rentdesk --browser        open RentDesk in your default web browser instead
  rentdesk serve --port N   serve only, on 127.0.0.1:N (prints the launch URL)
  rentdesk demo             try everything on this computer: a local license server with
                            demo prices, a technician and activation keys, in a throwaway folder
  rentdesk export --to DIR  after the passphrase, write your accounts, PBXs, queue and statements
                            as JSON and CSV into DIR, a new folder it makes (no standard tool opens
                            the encrypted store)

The data folder is --home, else $RENTDESK_HOME, else your per-user data folder.
"""


def version() -> str:
    """The installed version (kept in the bundle as package metadata)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("rentdesk")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rentdesk", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"rentdesk {version()}")
    parser.add_argument("--browser", action="store_true",
                        help="open RentDesk in the default web browser instead of its own window")
    parser.add_argument("--home", metavar="DIR", help="data folder (default: $RENTDESK_HOME or the per-user folder)")
    parser.add_argument("--verbose", action="store_true", help="log every request on stderr")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve only on 127.0.0.1 (prints the launch URL on stdout)")
    serve.add_argument("--port", type=int, default=0, metavar="N",
                       help="port on 127.0.0.1 (default 0: a free one)")
    serve.add_argument("--home", metavar="DIR", default=argparse.SUPPRESS, help="data folder")
    serve.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS)

    demo = commands.add_parser("demo", help="the whole system on this computer, nothing to set up")
    demo.add_argument("--browser", action="store_true", default=argparse.SUPPRESS,
                      help="open the demo in the default web browser")
    demo.add_argument("--serve", action="store_true",
                      help="open nothing: print the addresses and serve until Ctrl+C")
    demo.add_argument("--home", metavar="DIR", default=argparse.SUPPRESS,
                      help="keep the demo in DIR (default: a throwaway folder removed at exit)")
    demo.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS)

    export = commands.add_parser("export", help="write your own data as JSON and CSV (asks the passphrase)")
    export.add_argument("--to", metavar="DIR", required=True,
                        help="a new folder to make and write into (an existing one is refused)")
    export.add_argument("--home", metavar="DIR", default=argparse.SUPPRESS, help="data folder")
    return parser


def export_command(home: str | None, dest: str) -> int:
    """rentdesk export: unlock with the passphrase (typed, or one line on stdin), then write the files."""
    import getpass

    from . import paths, services
    from .clock import SystemClock
    from .export import ExportRefused, export_data, refuse_existing

    folder = paths.data_dir() if not home else __import__("pathlib").Path(home).expanduser().resolve()
    if not services.is_initialised(folder):
        print(f"rentdesk export: no RentDesk data in {folder} (use --home DIR or $RENTDESK_HOME)", file=sys.stderr)
        return 1
    try:
        refuse_existing(__import__("pathlib").Path(dest).expanduser())  # before the passphrase is typed
    except ExportRefused as exc:
        print(f"rentdesk export: {exc}", file=sys.stderr)
        return 1
    if sys.stdin.isatty():
        passphrase = getpass.getpass(f"Passphrase of {folder}: ")
    else:
        passphrase = sys.stdin.readline().rstrip("\n")
    try:
        store = services.unlock(folder, passphrase)
    except services.WrongPassphrase:
        print("rentdesk export: wrong passphrase; nothing was written.", file=sys.stderr)
        return 1
    except services.StoreError as exc:
        print(f"rentdesk export: {exc}", file=sys.stderr)
        return 1
    try:
        written = export_data(store, SystemClock(), dest)
    except ExportRefused as exc:
        print(f"rentdesk export: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"rentdesk export: cannot write to {dest}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    for path in written:
        print(path)
    return 0


def _ensure_std_streams() -> None:
    """A windowed bundle (Windows, macOS) starts with no stdout/stderr: print() must not crash it."""
    import os

    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - lives as long as the process


def main(argv: list[str] | None = None) -> int:
    _ensure_std_streams()
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        if not 0 <= args.port <= 65535:
            print(f"rentdesk serve: --port must be between 0 and 65535, not {args.port}", file=sys.stderr)
            return 2
        from .launcher import run

        return run("serve", home=args.home, port=args.port, verbose=args.verbose)
    if args.command == "export":
        return export_command(args.home, args.to)
    if args.command == "demo":
        from .demo import run_demo

        mode = "serve" if args.serve else "browser" if args.browser else "window"
        return run_demo(mode, home=args.home, verbose=args.verbose)
    from .launcher import run

    return run("browser" if args.browser else "window", home=args.home, verbose=args.verbose)


if __name__ == "__main__":  # python -m app.cli, and the PyInstaller entry script
    sys.exit(main())
