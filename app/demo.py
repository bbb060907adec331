"""`rentdesk demo`: the whole system on one laptop — a license server on 127.0.0.1 signing with the
public demo key, the demo price list, a technician and activation keys — and the app on top of it.

The only module of app/ that imports license_server (DESIGN §2). The demo key is trusted here and
in tests only: a normal start never trusts it (DESIGN §4).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from . import paths
from .instance import AlreadyRunning, InstanceLock
from .store_base import ForeignFolder

#: Told to the user, on the terminal and on the unlock page: the demo's data is throwaway.
DEMO_PASSPHRASE = "rentdesk-demo"
DEMO_PARTNER = "Demo Partner"
DEMO_TECHNICIAN = "Demo Technician"
#: (iSC, how many): enough to rent a few items for months, and a small one to see R14 refuse.
DEMO_KEYS_MILLI = ((500_000, 2), (100_000, 1), (5_000, 1))


def demo_key_path() -> Path:
    return paths.resource_path("keys", "demo", "demo.key")


@dataclass
class DemoServer:
    """A running demo license server: its URL, the technician's token and the keys it issued."""

    url: str
    token: str
    keys: list[tuple[int, str]] = field(default_factory=list)  # (amount in milli-iSC, key text)
    _server: object = None
    _ctx: object = None

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        if self._ctx is not None:
            self._ctx.engine.dispose()


def start_license_server(folder: Path, clock=None) -> DemoServer:
    """A license server on 127.0.0.1 (random port) over SQLite in folder, with prices, terms, a technician and keys."""
    import license_server
    from license_server import admin, terms
    from rental.errors import PriceListError

    from .launcher import LocalServer

    folder.mkdir(parents=True, exist_ok=True)
    serving: dict = {}
    # bound first, so the server knows its own address for the customers' links (R27, PUBLIC_URL)
    server = LocalServer(lambda environ, start_response: serving["app"](environ, start_response))
    config = {
        "DATABASE_URL": f"sqlite:///{(folder / 'license-server.db').as_posix()}",
        "INSTANCE_PATH": str(folder),
        "SIGNING_KEY_PATH": str(demo_key_path()),
        "PUBLIC_URL": server.url,
    }
    if clock is not None:
        config["CLOCK"] = clock
    try:
        server_app = serving["app"] = license_server.create_app(config)
    except BaseException:
        server.stop()  # the port goes with the failed start
        raise
    ctx = server_app.extensions["license_server"]
    admin.init_db(ctx)
    try:
        admin.publish_prices(ctx, admin.demo_pricelist())
    except PriceListError:
        pass  # a kept demo folder (--home) has it from an earlier run
    try:
        terms.publish(ctx, admin.demo_terms())  # R26: English and French demo terms
    except terms.TermsError:
        pass  # a kept demo folder has them already
    token = admin.add_technician(ctx, DEMO_PARTNER, DEMO_TECHNICIAN)
    keys = [(amount, key) for amount, count in DEMO_KEYS_MILLI for key in admin.issue_keys(ctx, amount, count)]
    server.start()
    return DemoServer(url=server.url, token=token, keys=keys, _server=server, _ctx=ctx)


DEMO_ACCOUNT = ("Hotel du Lac (demo)", "it@hotel-du-lac.example")
DEMO_SIGNATORY = "Claire Martin (demo)"
DEMO_PBX = ("Reception (demo)", "DEMO-0001")
DEMO_LICENSES = {"01-00010-001": 10, "01-00020-001": 10}  # 17.500 iSC a month at the demo prices


def held_key(server: "DemoServer") -> str:
    """The key the demo account holds for automatic reload (R24): the last one issued."""
    return server.keys[-1][1]  # who accepted the demo rental terms for the demo account (R26)


def prepare_store(home: Path, server: DemoServer) -> str | None:
    """Make the app's store, already pointed at the demo server with the technician's token, with one
    customer account holding the first key's credit (synced), so there is something to work on.
    Returns the key it loaded (None for a kept folder, which has its account already)."""
    from . import services, terms as terms_mod
    from .clock import SystemClock

    if not services.is_initialised(home):
        store = services.initialise(home, DEMO_PASSPHRASE, server.url, server.token, demo=True)
        try:
            clock = SystemClock()
            services.sync_now(store.unit_of_work, clock)  # the price list and the rental terms (R26) first
            held = terms_mod.held(store.unit_of_work())
            account = services.create_account(store.unit_of_work(), clock, *DEMO_ACCOUNT,
                                              terms_version=held.version if held else None,
                                              accepted_by=DEMO_SIGNATORY, terms_accepted=True)
            loaded = server.keys[0][1]
            services.load_key(store.unit_of_work(), clock, account.account_id, loaded)
            # R24: a PBX that runs, automatic reload on at 28 days and one key held for it
            pbx = services.register_pbx(store.unit_of_work(), clock, account.account_id, name=DEMO_PBX[0],
                                        serial=DEMO_PBX[1], platform="vmware", firmware="13r2", mode="rental")
            services.set_licenses(store.unit_of_work(), clock, account.account_id, pbx.pbx_id, DEMO_LICENSES)
            services.set_auto_reload(store.unit_of_work(), clock, account.account_id, 28)
            services.deposit_key(store.unit_of_work(), clock, account.account_id, held_key(server))
            report = services.sync_now(store.unit_of_work, clock)
            if not report.ok:
                raise RuntimeError(f"the demo could not sync with its own license server: {report.error}")
        finally:
            store.close()
        return loaded
    # a kept folder: the server came back on a new port, with a new technician token
    try:
        store = services.unlock(home, DEMO_PASSPHRASE, demo=True)
    except Exception as exc:  # the user changed the passphrase: leave their settings alone
        print(f"Note: the demo store in {home} did not open with the demo passphrase ({exc}); "
              f"set the server to {server.url} in Settings.", file=sys.stderr)
        return
    try:
        services.set_settings(store.unit_of_work(), server_url=server.url, token=server.token)
    finally:
        store.close()
    return None


def open_for_the_user(app) -> None:
    """Unlock the demo store at start: its passphrase is printed for all to see, so asking for it
    would only be a step in the way (a real store is never opened without the technician)."""
    from .web import core
    from .web.state import EXTENSION

    with app.app_context():
        app.extensions[EXTENSION].open(core.unlock(DEMO_PASSPHRASE), app)


def _isc(milli: int) -> str:
    from rental.money import format_milli

    return format_milli(milli, unit=False)


def app_config(server: DemoServer, loaded: str | None = None) -> dict:
    """app.config["DEMO"]: what the banner prints, for the app to show too (header badge, the account's
    "Load iSC" card, Settings): a demo started from the desktop menu has no terminal to read it on.
    "loaded" marks the key prepare_store put on the demo account."""
    held = held_key(server) if loaded is not None else None
    return {"passphrase": DEMO_PASSPHRASE, "server_url": server.url,
            "keys": [{"amount_milli": amount, "key": key, "loaded": key == loaded, "held": key == held}
                     for amount, key in server.keys]}


def banner_text(folder: Path, throwaway: bool, server: DemoServer, app_url: str, loaded: str | None = None) -> str:
    held = held_key(server) if loaded is not None else None
    keys = "\n".join(f"    {_isc(amount):>12} iSC   {key}" + ("   (loaded on the demo account)" if key == loaded else "")
                     + ("   (held for automatic reload on the demo account)" if key == held else "")
                     for amount, key in server.keys)
    fate = "a throwaway folder, deleted when the demo ends" if throwaway else "kept"
    return (
        "RentDesk demo: the app and a license server, both on this computer.\n"
        f"  data folder      {folder} ({fate})\n"
        f"  license server   {server.url}  (signs with the public demo key: a normal start refuses it)\n"
        f"  technician       {DEMO_TECHNICIAN} of {DEMO_PARTNER}; the app already holds the token\n"
        f"  passphrase       {DEMO_PASSPHRASE} (the demo opens unlocked; Lock asks for it)\n"
        f"  activation keys to load on an account (each works once):\n{keys}\n"
        f"  app              {app_url}\n"
    )


DEMO_PREFIX = "rentdesk-demo-"
#: A throwaway folder younger than this may belong to a demo that is starting (it takes its lock a moment later).
ABANDONED_AFTER_S = 120


def remove_abandoned_demos(temp_dir: str | None = None, *, now: float | None = None) -> list[Path]:
    """Throwaway folders of earlier demos that died without cleaning up (a window toolkit that aborts the whole
    process, a killed terminal): removed when no running demo holds their lock. Returns what was removed."""
    import time

    removed = []
    now = time.time() if now is None else now
    for folder in Path(temp_dir or tempfile.gettempdir()).glob(DEMO_PREFIX + "*"):
        try:
            if not folder.is_dir() or folder.is_symlink() or folder.stat().st_uid != os.getuid() \
                    or now - folder.stat().st_mtime < ABANDONED_AFTER_S:
                continue
            lock = InstanceLock(folder / "app").acquire()
        except (AlreadyRunning, ForeignFolder, OSError):
            continue  # a demo still runs there (or it is not ours to judge)
        lock.release()
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def run_demo(mode: str = "window", *, home: str | None = None, verbose: bool = False,
             out: TextIO | None = None, clock=None) -> int:
    """Start the demo server, prepare the store, open the app; everything stops (and a throwaway
    folder goes) when the window closes or Ctrl+C is pressed."""
    from . import launcher

    out = out or sys.stdout
    launcher.quiet_request_log(verbose)  # the demo server's requests too
    throwaway = home is None
    if throwaway:
        remove_abandoned_demos()
    folder = Path(tempfile.mkdtemp(prefix=DEMO_PREFIX)) if throwaway else Path(home).expanduser().resolve()
    app_home = folder / "app"
    server = None
    try:
        try:
            lock = InstanceLock(app_home).acquire()  # before the server: a second demo on a kept folder stops here
        except AlreadyRunning as running:
            print(str(running), file=sys.stderr)
            return launcher.EXIT_ALREADY_RUNNING
        except ForeignFolder as foreign:
            print(str(foreign), file=sys.stderr)
            return launcher.EXIT_FOREIGN_FOLDER
        try:
            server = start_license_server(folder / "license-server", clock=clock)
            loaded = prepare_store(app_home, server)
        except BaseException:
            lock.release()
            raise
        demo_info = app_config(server, loaded)

        def banner(app_url: str) -> None:
            print(banner_text(folder, throwaway, server, app_url, loaded), file=out, flush=True)

        return launcher.run(mode, home=app_home, trust_demo=True, verbose=verbose, lock=lock, out=out,
                            config={"SERVER_URL": server.url, "DEMO": demo_info}, banner=banner,
                            prepare_app=open_for_the_user)
    finally:
        if server is not None:
            server.stop()
        if throwaway:
            shutil.rmtree(folder, ignore_errors=True)
