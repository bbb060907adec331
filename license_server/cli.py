"""`license-server` (DESIGN §5): on success stdout carries only what each command promises; diagnostics go to stderr."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from rental.errors import RentalError
from rental.money import parse_isc

from .config import SettingsError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="license-server",
        description="RentDesk license server. Settings come from LICENSE_SERVER_<KEY> environment variables "
                    "(DATABASE_URL, SIGNING_KEY_PATH, SMTP_HOST, SMTP_PORT, MAIL_FROM, …).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("init-db", help="create or migrate the schema (Alembic)")
    gen = commands.add_parser("gen-key", help="write DIR/K.key (private, 0600) and DIR/K.pub")
    gen.add_argument("--kid", required=True, help="the key id, also the files' stem")
    gen.add_argument("--out", required=True, help="the folder to write the key pair to")
    tech = commands.add_parser("add-technician", help="print a new technician's bearer token (shown once)")
    tech.add_argument("--partner", required=True)
    tech.add_argument("--name", required=True)
    tech.add_argument("--expires-days", metavar="D", help="the token stops working after D days (401 token-expired)")
    commands.add_parser("list-technicians", help="one line each: id, partner, name, created, state (tab-separated)")
    revoke = commands.add_parser("revoke-technician",
                                 help="the technician's token stops working on every server within 5 s")
    revoke.add_argument("technician_id", metavar="ID", help="the id list-technicians shows")
    commands.add_parser("audit", help="the administrator commands run, newest first: at, user, command, arguments")
    keys = commands.add_parser("issue-keys", help="print N activation keys, one a line")
    keys.add_argument("--amount", required=True, help="iSC per key, e.g. 250 or 12.5")
    keys.add_argument("--count", required=True, type=int)
    prices = commands.add_parser("publish-prices", help="make the price list in FILE current from now")
    prices.add_argument("file")
    terms = commands.add_parser("publish-terms", help="make the rental terms in FILE current from now (R26)")
    terms.add_argument("file", help='JSON {"version": V, "texts": {"en": Markdown, "fr": Markdown}}')
    commands.add_parser("sweep", help="suspend depleted accounts, expire retained credit, mail customers")
    backup = commands.add_parser("backup", help="copy the SQLite database to FILE while the server runs "
                                                "(PostgreSQL: pg_dump -Fc)")
    backup.add_argument("file", help="the new file to write (never overwritten)")
    link = commands.add_parser("customer-link", help="print a new link to the customer's own page (R27); the "
                                                     "previous link stops working")
    link.add_argument("account_id", metavar="ACCOUNT_ID")
    serve = commands.add_parser("serve", help="development server (production: gunicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8700)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from .links import NoPublicUrl

    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except NoPublicUrl as exc:  # DESIGN §5: customer-link exits 2 saying to set PUBLIC_URL
        print(f"license-server {args.command}: {exc}", file=sys.stderr)
        return 2
    except (SettingsError, RentalError, ValueError, OSError) as exc:
        print(f"license-server {args.command}: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.command == "gen-key":
        from rental.signing import write_key_pair

        try:
            key_path, pub_path = write_key_pair(args.kid, args.out)
        except FileExistsError:
            raise ValueError(f"{args.out}/{args.kid}.key exists already: a private key is never overwritten") from None
        print(f"wrote {key_path} (private, keep it secret) and {pub_path} (public)", file=sys.stderr)
        return 0

    from .context import ServerContext

    if args.command == "sweep":
        from .metrics import as_one_process_of_many

        as_one_process_of_many("sweep")  # a timer runs it often: one metrics file for every run, not one each
    ctx = ServerContext.from_config()
    from .logs import configure

    configure(ctx.settings.LOG_FORMAT)  # the sweep's warnings as the server's lines (LOG_FORMAT), to stderr
    if args.command == "serve":
        _serve(ctx, args.host, args.port)
    else:
        run_command(ctx, args.command, vars(args))
    ctx.engine.dispose()
    return 0


def run_command(ctx, command: str, args: dict) -> None:
    """One command on a server context: the argparse program and the Flask CLI (app.cli) both call this."""
    from . import admin

    if command in READ_ONLY:
        _read(ctx, command)
        return
    _act(ctx, command, args)
    admin.record_audit(ctx, command, args)  # after the action: init-db makes the audit's table first


#: Commands that change nothing: not audited.
READ_ONLY = ("list-technicians", "audit")


def _read(ctx, command: str) -> None:
    from . import admin

    lines = ([row.line() for row in admin.list_technicians(ctx)] if command == "list-technicians"
             else admin.audit_lines(ctx))
    sys.stdout.write("".join(line + "\n" for line in lines))


def _act(ctx, command: str, args: dict) -> None:
    from . import admin

    if command == "init-db":
        admin.init_db(ctx)
        print(f"schema up to date in {ctx.engine.url.render_as_string(hide_password=True)}", file=sys.stderr)
    elif command == "add-technician":
        print(admin.add_technician(ctx, args["partner"], args["name"], args.get("expires_days")))
    elif command == "revoke-technician":
        row, fresh = admin.revoke_technician(ctx, args["technician_id"])
        print(f"technician {row.id} ({row.name}, {row.partner}) {'is revoked' if fresh else 'was revoked already'}: "
              "every server answers the token 401 token-revoked within 5 s", file=sys.stderr)
    elif command == "issue-keys":
        amount = parse_isc(args["amount"])
        keys = admin.issue_keys(ctx, amount, args["count"])
        sys.stdout.write("".join(key + "\n" for key in keys))
        print(f"issued {len(keys)} key(s) of {args['amount']} iSC, signed by {ctx.signer.kid!r}", file=sys.stderr)
    elif command == "publish-prices":
        pricelist = admin.publish_prices(ctx, args["file"])
        print(f"price list {pricelist.version} ({len(pricelist.items)} items) is current from now", file=sys.stderr)
    elif command == "publish-terms":
        from .terms import publish

        version = publish(ctx, args["file"])
        print(f"rental terms {version} are current from now: new accounts must accept them", file=sys.stderr)
    elif command == "sweep":
        from .sweep import sweep

        report = sweep(ctx)
        print(f"suspended {report.suspended}, reminders sent {report.reminders_sent} of {report.reminders_due} due, "
              f"mails sent {report.mails_sent}, failed {report.mails_failed}, expired {report.expired}, "
              f"reloads {report.reloads}", file=sys.stderr)
    elif command == "backup":
        from .backup import backup_sqlite

        made = backup_sqlite(ctx.settings.DATABASE_URL, args["file"])
        print(f"wrote a consistent copy of the database to {made}", file=sys.stderr)
    elif command == "customer-link":
        from .links import LinkRefused, renew
        from .opschema import is_uuid

        account_id = str(args["account_id"]).strip().lower()
        if not is_uuid(account_id):
            raise ValueError(f"{args['account_id']!r} is not an account id: give the account's UUID")
        try:
            renewed = renew(ctx, account_id)
        except LinkRefused as refused:
            raise ValueError(str(refused)) from None
        print(renewed.url)
        print("the previous link of this account no longer works", file=sys.stderr)


def _serve(ctx, host: str, port: int) -> None:
    from werkzeug.serving import run_simple

    from . import create_app
    from .errors import JsonErrorRequestHandler

    config = {} if ctx.settings.SWEEP_INTERVAL else {"SWEEP_INTERVAL": 60}  # a periodic sweep in development too
    app = create_app(config)
    print(f"license server (development) on http://{host}:{port}/api/v1 — use gunicorn in production", file=sys.stderr)
    run_simple(host, port, app, threaded=True,  # logs to stderr; stdout stays empty
               request_handler=JsonErrorRequestHandler)


def init_app(app) -> None:
    """The same commands on the Flask app's CLI (`flask --app license_server cmd`, or test_cli_runner), run on
    that app's own context: its settings, database and CLOCK."""
    import click

    ctx = app.extensions["license_server"]

    from .links import NoPublicUrl

    def command(name: str, *params):
        def run(**kwargs):
            try:
                run_command(ctx, name, kwargs)
            except NoPublicUrl as exc:
                error = click.ClickException(str(exc))
                error.exit_code = 2  # DESIGN §5, as the program's own
                raise error from None
            except (SettingsError, RentalError, ValueError, OSError) as exc:
                raise click.ClickException(str(exc)) from None
        app.cli.add_command(click.Command(name, callback=run, params=list(params),
                                          help=_HELP.get(name)))

    command("init-db")
    command("add-technician", click.Option(["--partner"], required=True), click.Option(["--name"], required=True),
            click.Option(["--expires-days"], default=None))
    command("list-technicians")
    command("revoke-technician", click.Argument(["technician_id"]))
    command("audit")
    command("issue-keys", click.Option(["--amount"], required=True), click.Option(["--count"], required=True, type=int))
    command("publish-prices", click.Argument(["file"]))
    command("publish-terms", click.Argument(["file"]))
    command("sweep")
    command("backup", click.Argument(["file"]))
    command("customer-link", click.Argument(["account_id"]))


_HELP = {"init-db": "create or migrate the schema (Alembic)", "add-technician": "print a new technician's token",
         "list-technicians": "one line each: id, partner, name, created, state",
         "revoke-technician": "the token stops working on every server within 5 s",
         "audit": "the administrator commands run, newest first",
         "issue-keys": "print N activation keys", "publish-prices": "make the price list in FILE current",
         "publish-terms": "make the rental terms in FILE current (R26)",
         "sweep": "suspend depleted accounts, expire retained credit, mail customers",
         "backup": "copy the SQLite database to FILE while the server runs",
         "customer-link": "print a new link to the customer's own page (R27)"}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
