"""A license server for the benchmarks, set up through its binding CLI and API (DESIGN §5) and served by gunicorn.

    with LicenseServer(tmp, database_url) as server:   # init-db, gen-key, technician, price list, gunicorn
        server.sync([op, ...])                          # POST /api/v1/sync, parsed (payloads decoded, not verified)
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import uuid
from pathlib import Path

from bench.support import ROOT, VENV_BIN, Missing, free_port, spawn, stop, wait_http

PARTNER = "Bench Partner"
#: A small price list: a few rentable software items, priced like the vendor's (milli-iSC per month).
PRICES = {
    "version": "bench-1",
    "items": [
        {"ref": "01-00010-001", "name": "User license", "category": "users", "monthly_milli": 1_250,
         "rentable": True, "note": ""},
        {"ref": "01-00020-001", "name": "Voicemail box", "category": "apps", "monthly_milli": 400,
         "rentable": True, "note": ""},
        {"ref": "01-00030-001", "name": "SIP trunk channel", "category": "trunks", "monthly_milli": 2_000,
         "rentable": True, "note": ""},
        {"ref": "01-00040-001", "name": "Contact center agent", "category": "apps", "monthly_milli": 9_500,
         "rentable": True, "note": ""},
    ],
}
REFS = [item["ref"] for item in PRICES["items"]]


def decode_payload(envelope: dict) -> dict:
    """An envelope's payload, read without checking the signature (the load generator's view, not the app's)."""
    raw = envelope["payload"]
    return json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))


def new_op(kind: str, account_id: str, **fields) -> dict:
    return {"op_id": str(uuid.uuid4()), "kind": kind, "account_id": account_id, **fields}


class LicenseServer:
    """One license server instance in a folder: its key, its database, its technician, gunicorn in front."""

    def __init__(self, folder: Path, database_url: str | None = None, workers: int = 2):
        if not (ROOT / "license_server" / "cli.py").exists() or not (VENV_BIN / "license-server").exists():
            raise Missing("the license server CLI (license_server/cli.py) has not landed yet")
        if not (ROOT / "license_server" / "__init__.py").exists():
            raise Missing("license_server/__init__.py (create_app) has not landed yet")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.key_dir = self.folder / "keys"
        self.database_url = database_url or f"sqlite:///{self.folder / 'server.sqlite3'}"
        self.workers = workers
        self.port = free_port()
        self.proc = None
        self.token: str | None = None
        self.env = {
            "LICENSE_SERVER_DATABASE_URL": self.database_url,
            "LICENSE_SERVER_INSTANCE_PATH": str(self.folder / "instance"),
            "LICENSE_SERVER_SIGNING_KEY_PATH": str(self.key_dir / "bench.key"),
        }
        self._client = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        out = subprocess.run([str(VENV_BIN / "license-server"), *args], env={**os.environ, **self.env},
                             capture_output=True, text=True, cwd=self.folder)
        if out.returncode != 0:
            raise RuntimeError(f"license-server {args[0]} failed ({out.returncode}): {out.stderr.strip()[-600:]}")
        return out.stdout

    def prepare(self) -> "LicenseServer":
        """Schema, signing key, price list and a technician, all through the binding CLI."""
        self.cli("gen-key", "--kid", "bench", "--out", str(self.key_dir))
        self.cli("init-db")
        prices = self.folder / "prices.json"
        prices.write_text(json.dumps(PRICES), "utf-8")
        self.cli("publish-prices", str(prices))
        self.token = self.cli("add-technician", "--partner", PARTNER, "--name", "Bench Tech").strip().splitlines()[-1]
        return self

    def signing_key(self):
        from rental.signing import SigningKey

        return SigningKey.from_pem("bench", (self.key_dir / "bench.key").read_bytes())

    def issue_keys(self, count: int, amount_isc: str = "1000") -> list[str]:
        """Activation keys through the binding `issue-keys` command (the server may record them)."""
        return self.cli("issue-keys", "--amount", amount_isc, "--count", str(count)).split()

    def start(self, extra_env: dict | None = None, extra_args: list[str] | None = None,
              stderr=None) -> "LicenseServer":
        args = [str(VENV_BIN / "gunicorn"), "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}",
                "--log-level", "warning", "--backlog", "2048", *(extra_args or []), "license_server:create_app()"]
        self.proc = spawn(args, env={**self.env, **(extra_env or {})}, cwd=self.folder, stderr=stderr)
        wait_http(f"{self.url}/api/v1/health", timeout_s=30, proc=self.proc)
        return self

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        stop(self.proc)
        self.proc = None

    def client(self):
        import httpx

        if self._client is None:
            self._client = httpx.Client(base_url=self.url, timeout=120,
                                        headers={"Authorization": f"Bearer {self.token}"})
        return self._client

    def sync(self, ops: list[dict], client_id: str | None = None, client=None) -> dict:
        """POST /sync and return the answer with results and accounts decoded (not verified: that is the app's job)."""
        client = client or self.client()
        response = client.post("/api/v1/sync", json={"client_id": client_id or str(uuid.uuid4()), "ops": ops})
        if response.status_code != 200:
            raise RuntimeError(f"/sync answered {response.status_code}: {response.text[:400]}")
        body = response.json()
        return {
            "results": [decode_payload(env) for env in body["results"]],
            "accounts": {p["account_id"]: p for p in (decode_payload(env) for env in body["accounts"])},
        }

    def __enter__(self) -> "LicenseServer":
        return self.prepare().start()

    def __exit__(self, *exc) -> None:
        self.stop()


def seed_accounts(server: LicenseServer, accounts: int, pbxs_per_account: int, key_texts: list[str],
                  items: dict[str, int] | None = None) -> dict[str, dict]:
    """Accounts with credit and rented PBXs, made through /sync like a technician would; their snapshots by id."""
    items = items or {REFS[0]: 1}
    snapshots: dict[str, dict] = {}
    keys = iter(key_texts)
    for index in range(accounts):
        account_id = str(uuid.uuid4())
        ops = [new_op("create_account", account_id, name=f"Bench customer {index}",
                      contact_email=f"bench{index}@example.com", cloud_contract=False),
               new_op("redeem_key", account_id, key=next(keys))]
        for number in range(pbxs_per_account):
            ops.append(new_op("register_pbx", account_id, pbx_id=f"pbx-{number}", name=f"PBX {number}",
                              serial=f"SN{index:05d}{number:03d}", platform="vmware", firmware="14r1",
                              mode="rental"))
        answer = server.sync(ops)
        _require_applied(answer)
        snapshot = answer["accounts"][account_id]
        ops = [new_op("set_licenses", account_id, pbx_id=pbx["pbx_id"], base_revision=pbx["revision"], items=items)
               for pbx in snapshot["pbxs"]]
        answer = server.sync(ops)
        _require_applied(answer)
        snapshots[account_id] = answer["accounts"][account_id]
    return snapshots


def _require_applied(answer: dict) -> None:
    for result in answer["results"]:
        if result["status"] != "applied":
            raise RuntimeError(f"seeding op {result['op_id']} was {result['status']}: "
                               f"{result.get('rule')} {result.get('message')}")
