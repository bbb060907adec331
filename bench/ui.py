"""UI latency with 10,000 accounts and 50,000 PBXs in the store, encrypted (SQLCipher) and plain SQLite.

Both stores get the same replica, bulk-seeded through the app core (replica.store_pricelist and
replica.keep_account, envelopes signed with the demo key the app trusts in demo mode): 10,000
accounts of 5 PBXs each, each PBX renting one or two items. Each store is served by its own
process (bench/ui_server.py: the launcher's LocalServer, the launch cookie, the localhost guard),
and one client walks the same seeded-random path on both, alternating request by request so both
see the same machine: the accounts list, one account's page, and its license editor preview
(the HTMX partial, POST with HX-Request and the CSRF header). ui_p50/p95 are over every request on
the encrypted store; encrypted_over_plain is the total time of the same requests, encrypted ÷ plain.
"""

from __future__ import annotations

import http.client
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import ROOT, Missing, bench_main, percentile, spawn, stop, temp_dir  # noqa: E402

FIGURES = ("ui_p50_ms", "ui_p95_ms", "encrypted_over_plain")
NOW = 1_800_000_000
PASSPHRASE = "bench passphrase 1"
#: scrypt as the app ships it would only slow the seeding; the KDF is never on a request's path
BENCH_KDF = {"name": "scrypt", "n": 2**14, "r": 8, "p": 1}
PRICES = [("01-00010-001", "User license", "users", 1_250), ("01-00020-001", "Voicemail box", "apps", 400),
          ("01-00030-001", "SIP trunk channel", "trunks", 2_000), ("01-00040-001", "Contact center agent", "apps", 9_500),
          ("01-00050-001", "Conference bridge", "apps", 3_100), ("01-00060-001", "Mobile client", "users", 700)]
PAGES = ("list", "account", "editor")


def demo_signer():
    from rental.signing import SigningKey

    return SigningKey.from_pem("demo", (ROOT / "keys" / "demo" / "demo.key").read_bytes())


def account_payloads(count: int, pbxs_per_account: int):
    """Signed-ready account payloads as the server writes them (DESIGN §5), with consistent money."""
    rng = random.Random(7)
    for n in range(count):
        pbxs, rate = [], 0
        for p in range(pbxs_per_account):
            licenses = []
            for ref, _name, _cat, monthly in rng.sample(PRICES, 1 + (n + p) % 2):
                qty = 1 + rng.randrange(20)
                line_rate = 12 * monthly * qty
                rate += line_rate
                licenses.append({"ref": ref, "qty": qty, "monthly_milli": monthly, "rate_ticks_per_s": line_rate})
            pbxs.append({"pbx_id": f"pbx-{p + 1}", "name": f"PBX {p + 1} of customer {n}", "serial": f"SN{n:06d}{p}",
                         "platform": ("vmware", "hyper-v", "hardware")[p % 3], "hardware_model": None,
                         "firmware": "14r2", "mode": "rental", "status": "active", "revision": 3,
                         "licenses": licenses})
        balance = rate * (30 + n % 400) * 86_400
        yield {"type": "account", "account_id": f"acc-{n:05d}-{rng.getrandbits(32):08x}", "partner": "Bench Partner",
               "name": f"Customer {n:05d} {('Dupont', 'Martin', 'Leroy', 'Moreau', 'Garnier')[n % 5]}",
               "contact_email": f"it{n}@customer{n}.example", "cloud_contract": False, "language": "en",
               "status": "active", "revision": 4, "as_of": NOW - 3_600, "balance_ticks": balance,
               "rate_ticks_per_s": rate, "depletes_at": NOW - 3_600 + balance // rate, "price_version": "bench-1",
               "pbxs": pbxs}


def seed(store, accounts: int, pbxs_per_account: int) -> list[tuple[str, list[str]]]:
    """Fill the replica through the app core; returns (account_id, pbx_ids) for the client's path."""

    signer = demo_signer()
    prices = {"type": "pricelist", "version": "bench-1", "published_at": NOW - 86_400,
              "items": [{"ref": r, "name": n, "category": c, "monthly_milli": m, "rentable": True, "note": ""}
                        for r, n, c, m in PRICES]}
    index = []
    with store.unit_of_work(write=True) as uow:
        with uow.batch():
            if uow.replica.store_pricelist(store.keyring, signer.sign_envelope("pricelist", prices), NOW) is None:
                raise RuntimeError("the app refused the bench price list")
            for payload in account_payloads(accounts, pbxs_per_account):
                envelope = signer.sign_envelope("account", payload)
                uow.replica.keep_account(payload, envelope, NOW - 3_600)
                index.append((payload["account_id"], [p["pbx_id"] for p in payload["pbxs"]]))
        uow.commit()
    return index


def make_stores(folder: Path, accounts: int, pbxs_per_account: int) -> list[tuple[str, list[str]]]:
    from app import migrations, services
    from app.store import Store

    encrypted = services.initialise(folder / "encrypted", PASSPHRASE, demo=True, kdf=BENCH_KDF)
    (folder / "plain").mkdir()
    plain = Store(folder / "plain", None, demo=True)
    migrations.upgrade(plain.engine)
    index = seed(encrypted, accounts, pbxs_per_account)
    seed(plain, accounts, pbxs_per_account)
    for store in (encrypted, plain):
        store.checkpoint()
        store.close()
    return index


class Client:
    """One keep-alive HTTP connection to one app, holding its launch cookie and CSRF token."""

    def __init__(self, info: dict):
        parts = urlsplit(info["url"])
        self.host, self.port = parts.hostname, parts.port
        self.csrf = info["csrf"]
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        self.conn.request("GET", f"{parts.path}?{parts.query}")
        response = self.conn.getresponse()
        response.read()
        cookie = response.getheader("Set-Cookie")
        if response.status not in (302, 303) or not cookie:
            raise RuntimeError(f"the launch URL answered {response.status} without the launch cookie")
        self.cookie = cookie.split(";", 1)[0]

    def timed(self, method: str, path: str, form: dict | None = None, htmx: bool = False) -> float:
        headers = {"Cookie": self.cookie, "Host": f"{self.host}:{self.port}"}
        body = None
        if htmx:
            headers["HX-Request"] = "true"
        if method == "POST":
            headers.update({"X-CSRF-Token": self.csrf, "Origin": f"http://{self.host}:{self.port}",
                            "Content-Type": "application/x-www-form-urlencoded"})
            body = urlencode(form or {})
        start = time.perf_counter()
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        content = response.read()
        elapsed = time.perf_counter() - start
        if response.status != 200:
            raise RuntimeError(f"{method} {path} answered {response.status}")
        return elapsed

    def close(self) -> None:
        self.conn.close()


def start_app(home: Path, plain: bool):
    """One app process on one store; its log goes next to the store (read when a request fails)."""
    args = [sys.executable, str(ROOT / "bench" / "ui_server.py"), "--home", str(home), "--now", str(NOW)]
    args += ["--plain"] if plain else ["--passphrase", PASSPHRASE]
    log = open(home.with_suffix(".log"), "wb")
    proc = spawn(args, stdout=subprocess.PIPE, stderr=log)
    log.close()
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"ui_server.py did not start: {last_error(home)}")
    return proc, json.loads(line)


def last_error(home: Path) -> str:
    lines = home.with_suffix(".log").read_text(errors="replace").strip().splitlines()
    errors = [line for line in lines if line and not line.startswith(" ")]
    return errors[-1] if errors else "no log"


def requests_for(account_id: str, pbx_ids: list[str], rng: random.Random):
    pbx_id = rng.choice(pbx_ids)
    ref = rng.choice(PRICES)[0]
    return [
        ("list", "GET", "/accounts/", None, False),
        ("account", "GET", f"/accounts/{account_id}", None, False),
        ("editor", "POST", f"/accounts/{account_id}/pbx/{pbx_id}/licenses/preview",
         {f"qty-{ref}": str(1 + rng.randrange(30))}, True),
    ]


def compute(args) -> dict:
    try:
        from app import create_app

        with temp_dir("rentdesk-bench-probe-") as probe:
            create_app({"TESTING": True, "RENTDESK_HOME": str(probe)})
    except ImportError as error:
        raise Missing(f"the app's screens have not all landed yet ({error})") from None
    accounts = 2_000 if args.quick else 10_000
    rounds = 8 if args.quick else 30
    cap_s = 60 if args.quick else 120
    with temp_dir("rentdesk-bench-ui-") as folder:
        start = time.perf_counter()
        index = make_stores(folder, accounts, 5)
        seed_s = time.perf_counter() - start
        enc_proc, enc_info = start_app(folder / "encrypted", plain=False)
        plain_proc, plain_info = start_app(folder / "plain", plain=True)
        try:
            enc, plain = Client(enc_info), Client(plain_info)
            rng = random.Random(11)
            times = {"enc": {p: [] for p in PAGES}, "plain": {p: [] for p in PAGES}}
            for _ in range(1):  # warm-up: templates compiled, pools filled, pages cached by the OS
                for page, method, path, form, htmx in requests_for(*rng.choice(index), rng):
                    enc.timed(method, path, form, htmx)
                    plain.timed(method, path, form, htmx)
            began = time.perf_counter()
            done = 0
            while done < rounds and time.perf_counter() - began < cap_s:
                for page, method, path, form, htmx in requests_for(*rng.choice(index), rng):
                    # alternate which store goes first, so neither always gets the warmer CPU
                    pair = [("enc", enc), ("plain", plain)] if done % 2 == 0 else [("plain", plain), ("enc", enc)]
                    for name, client in pair:
                        times[name][page].append(client.timed(method, path, form, htmx))
                done += 1
            if not times["enc"]["editor"]:
                raise RuntimeError(f"not one round fitted in {cap_s} s")
            enc.close()
            plain.close()
        except RuntimeError as error:
            raise RuntimeError(f"{error} -- app log: {last_error(folder / 'encrypted')}") from None
        finally:
            stop(enc_proc)
            stop(plain_proc)
    every_enc = [t for page in PAGES for t in times["enc"][page]]
    every_plain = [t for page in PAGES for t in times["plain"][page]]
    result = {
        "ui_p50_ms": percentile(every_enc, 50) * 1000,
        "ui_p95_ms": percentile(every_enc, 95) * 1000,
        "encrypted_over_plain": sum(every_enc) / sum(every_plain),
        "ui_accounts": accounts, "ui_pbxs": accounts * 5, "ui_rounds": done, "ui_seed_s": seed_s,
        "ui_plain_p95_ms": percentile(every_plain, 95) * 1000,
    }
    for page in PAGES:
        result[f"ui_{page}_p50_ms"] = percentile(times["enc"][page], 50) * 1000
        result[f"ui_{page}_p95_ms"] = percentile(times["enc"][page], 95) * 1000
        result[f"ui_{page}_plain_p50_ms"] = percentile(times["plain"][page], 50) * 1000
    if args.quick:
        for name in FIGURES:
            result[f"quick_{name}"] = result.pop(name)
        result["_reasons"] = {name: f"quick run: {accounts:,} accounts only" for name in FIGURES}
    return result


if __name__ == "__main__":
    bench_main(__doc__.splitlines()[0], FIGURES, compute)
