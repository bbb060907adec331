"""A technician's view of the API for tests: build ops, sync them, verify every envelope, read accounts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import func, select

from license_server import admin, models
from license_server.sweep import sweep
from rental.money import TICKS_PER_MILLI

DAY = 86_400
MONTH = 2_629_800
IP_PORT = "01-00010-001"  # 500 milli-iSC a month
UC = "01-00020-001"  # 1,250 milli-iSC a month
VIDEO = "01-00021-001"  # 1,000 milli-iSC a month
HARDWARE = "01-00500-001"
THIRD_PARTY = "90-00100-001"
MAINTENANCE = "01-00090-001"


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Answer:
    """A /sync answer with every envelope verified and its payloads parsed."""

    status_code: int
    body: Any
    results: list[dict] = field(default_factory=list)
    accounts: dict[str, dict] = field(default_factory=dict)
    pricelist: dict | None = None

    @property
    def result(self) -> dict:
        assert len(self.results) == 1, self.results
        return self.results[0]


class Api:
    """One technician's client; transport is (method, path, json|bytes, headers) → (status, body)."""

    def __init__(self, transport: Callable[..., tuple[int, Any]], token: str, ctx, clock, keyring):
        self.transport, self.token, self.ctx, self.clock, self.keyring = transport, token, ctx, clock, keyring

    @classmethod
    def for_flask(cls, client, token, ctx, clock, keyring) -> "Api":
        def transport(method, path, body=None, headers=None, raw=None):
            response = client.open("/api/v1" + path, method=method, json=body, data=raw, headers=headers or {})
            return response.status_code, response.get_json(silent=True)
        return cls(transport, token, ctx, clock, keyring)

    @classmethod
    def for_http(cls, http_client, token, ctx, clock, keyring) -> "Api":
        def transport(method, path, body=None, headers=None, raw=None):
            response = http_client.request(method, "/api/v1" + path, json=body, content=raw, headers=headers or {})
            try:
                return response.status_code, response.json()
            except ValueError:
                return response.status_code, None
        return cls(transport, token, ctx, clock, keyring)

    # ------------------------------------------------------------------ raw
    def call(self, method: str, path: str, body=None, *, token: str | None = "mine", raw: bytes | None = None,
             headers: dict | None = None) -> tuple[int, Any]:
        headers = dict(headers or {})
        if token == "mine":
            token = self.token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if raw is not None:
            headers.setdefault("Content-Type", "application/json")
        return self.transport(method, path, body, headers, raw)

    def sync(self, *ops: dict, client_id: str | None = None) -> Answer:
        status, body = self.call("POST", "/sync", {"client_id": client_id or new_id(), "ops": list(ops)})
        answer = Answer(status, body)
        if status == 200:
            answer.results = [self.keyring.verify_envelope(e, "op-result") for e in body["results"]]
            for envelope in body["accounts"]:
                payload = self.keyring.verify_envelope(envelope, "account")
                answer.accounts[payload["account_id"]] = payload
            if body["pricelist"] is not None:
                answer.pricelist = self.keyring.verify_envelope(body["pricelist"], "pricelist")
        return answer

    def account(self, account_id: str) -> dict:
        status, body = self.call("GET", f"/accounts/{account_id}")
        assert status == 200, body
        return self.keyring.verify_envelope(body, "account")

    def ledger(self, account_id: str, **params) -> dict:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        status, body = self.call("GET", f"/accounts/{account_id}/ledger" + (f"?{query}" if query else ""))
        assert status == 200, body
        return body

    # ------------------------------------------------------------------ ops
    @staticmethod
    def op(kind: str, account_id: str, **fields: Any) -> dict:
        return {"op_id": new_id(), "kind": kind, "account_id": account_id, **fields}

    def applied(self, *ops: dict) -> Answer:
        answer = self.sync(*ops)
        assert answer.status_code == 200, answer.body
        assert [r["status"] for r in answer.results] == ["applied"] * len(ops), answer.results
        return answer

    def new_account(self, *, name: str = "Boulangerie Émile", language: str = "en", cloud_contract: bool = False,
                    email: str = "emile@example.com") -> str:
        account_id = new_id()
        self.applied(self.op("create_account", account_id, name=name, contact_email=email,
                             cloud_contract=cloud_contract, language=language))
        return account_id

    def register(self, account_id: str, pbx_id: str = "pbx-1", **overrides: Any) -> dict:
        fields = {"pbx_id": pbx_id, "name": "Main office", "serial": f"SN-{pbx_id}", "platform": "vmware",
                  "firmware": "13r2sr5", "mode": "rental", **overrides}
        return self.sync(self.op("register_pbx", account_id, **fields)).result

    def pbx_revision(self, account_id: str, pbx_id: str = "pbx-1") -> int:
        return next(p["revision"] for p in self.account(account_id)["pbxs"] if p["pbx_id"] == pbx_id)

    def set_licenses_op(self, account_id: str, items: dict, pbx_id: str = "pbx-1", base_revision: int | None = None):
        if base_revision is None:
            base_revision = self.pbx_revision(account_id, pbx_id)
        return self.op("set_licenses", account_id, pbx_id=pbx_id, base_revision=base_revision, items=items)

    def set_licenses(self, account_id: str, items: dict, pbx_id: str = "pbx-1", base_revision: int | None = None):
        return self.sync(self.set_licenses_op(account_id, items, pbx_id, base_revision)).result

    def redeem(self, account_id: str, key: str) -> dict:
        return self.sync(self.op("redeem_key", account_id, key=key)).result

    def load(self, account_id: str, amount: str) -> dict:
        """Issue a key of amount iSC and redeem it."""
        [key] = admin.issue_keys(self.ctx, _milli(amount), 1)
        result = self.redeem(account_id, key)
        assert result["status"] == "applied", result
        return result

    def running_account(self, amount: str = "100", items: dict | None = None, **kwargs) -> str:
        """An account with credit and one rental PBX running items (10 IP ports by default)."""
        account_id = self.new_account(**kwargs)
        self.load(account_id, amount)
        assert self.register(account_id)["status"] == "applied"
        result = self.set_licenses(account_id, items if items is not None else {IP_PORT: 10})
        assert result["status"] == "applied", result
        return account_id

    # ------------------------------------------------------------------ server side
    def sweep(self):
        return sweep(self.ctx)

    def count(self, table) -> int:
        with self.ctx.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(table)).scalar_one()

    def count_occurrences(self, account_id: str) -> int:
        """Reduce-then-restore occurrences recorded on the account (R6)."""
        T = models.toggle_occurrences.c
        with self.ctx.engine.connect() as connection:
            return connection.execute(select(func.count()).where(T.account_id == account_id)).scalar_one()

    def ledger_rows(self, account_id: str) -> list[dict]:
        L = models.ledger.c
        with self.ctx.engine.connect() as connection:
            return [dict(r) for r in connection.execute(
                select(models.ledger).where(L.account_id == account_id).order_by(L.id)).mappings()]

    def snapshot(self) -> dict:
        """Everything an op could change, to prove a refused request changed nothing."""
        with self.ctx.engine.connect() as connection:
            return {table.name: sorted(map(tuple, connection.execute(select(table)).all()), key=repr)
                    for table in models.metadata.sorted_tables if table.name not in ("ops",)}


def _milli(amount: str) -> int:
    from rental.money import parse_isc

    return parse_isc(amount)


def ticks(milli: int) -> int:
    return milli * TICKS_PER_MILLI


def publish(ctx, version: str, **prices: int) -> None:
    """A new list with some items' monthly prices changed (by ref)."""
    data = admin.demo_pricelist()
    data["version"] = version
    for item in data["items"]:
        if item["ref"] in prices:
            item["monthly_milli"] = prices[item["ref"]]
    admin.publish_prices(ctx, data)
