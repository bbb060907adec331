"""The license server's JSON API as the app calls it (DESIGN §5): httpx with timeouts, https unless the server
is this machine, every failure a SyncError with a code the screens word; and the first run's connection check.

Nothing here is believed: what the server answers is verified by app/sync.py before any of it is kept.
"""

from __future__ import annotations

import functools

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rental.errors import SignatureError
from rental.reasons import Reason, rule_of, template_of
from rental.signing import token_binding

from . import clock as clock_mod, settings
from .errors import ServerError, SyncError

if TYPE_CHECKING:
    import httpx

API = "/api/v1"
TIMEOUT_S, CONNECT_TIMEOUT_S = 20.0, 5.0


def _reason_of(document) -> Reason | None:
    """The reason an error document carries as data ({code, params}, a code of the catalog), or None."""
    if not isinstance(document, dict) or not isinstance(document.get("code"), str):
        return None
    params = document.get("params")
    if not isinstance(params, dict) or template_of(document["code"]) is None:
        return None
    plain = {str(name): value for name, value in params.items() if isinstance(value, (str, int)) and not isinstance(value, bool)}
    return Reason(rule_of(document["code"]), document["code"], plain)


def _httpx():
    """httpx, loaded at the first call to a server rather than at start (a tenth of `rentdesk serve`'s start:
    the unlock page needs no HTTP client; bench/startup.py)."""
    import httpx

    return httpx


@functools.lru_cache(maxsize=1)
def _tls_context():
    """The default verifying TLS context, made once per process: loading the CA bundle for every client took
    ~0.2 s of each sync on a loaded machine (issue 26's quiet sync). Same checks as httpx's default."""
    import ssl

    import certifi

    return ssl.create_default_context(cafile=certifi.where())


class HttpTransport:
    """The license server's JSON API over httpx, with timeouts; https unless the server is this machine."""

    def __init__(self, base_url: str, token: str, *, timeout: httpx.Timeout | float | None = None,
                 transport: httpx.BaseTransport | None = None):
        httpx = _httpx()
        if timeout is None:
            timeout = httpx.Timeout(TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
        self.base_url = settings.check_server_url(base_url)
        self.token_binding = token_binding(token)  # what a signed /whoami answer for this token carries
        self._client = httpx.Client(base_url=self.base_url + API, timeout=timeout, transport=transport,
                                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                                    follow_redirects=False, trust_env=False, verify=_tls_context())
        self.last_date: int | None = None  # the last answer's HTTP Date (unsigned: a fallback for the clock offset)

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, path: str, body: dict | None = None, params: dict | None = None) -> dict:
        try:
            response = self._client.request(method, path, json=body, params=params)
        except _httpx().TimeoutException:
            raise SyncError("sync-timeout") from None
        except _httpx().HTTPError:
            raise SyncError("sync-unreachable") from None
        self.last_date = clock_mod.http_date(response.headers.get("date"))
        try:
            data = response.json()
        except ValueError:
            raise SyncError("sync-not-json", status=response.status_code) from None
        if response.status_code >= 400:
            code = data.get("error", "error") if isinstance(data, dict) else "error"
            message = data.get("message", "") if isinstance(data, dict) else ""
            raise ServerError(response.status_code, str(code), str(message), _reason_of(data))
        if not isinstance(data, dict):
            raise SyncError("sync-not-object")
        return data

    def health(self) -> dict:
        return self._call("GET", "/health")

    def whoami(self) -> dict:
        return self._call("GET", "/whoami")

    def pricelist(self) -> dict:
        return self._call("GET", "/pricelist")

    def terms(self) -> dict:
        return self._call("GET", "/terms")

    def accounts(self, since: str | None = None) -> dict:
        """The partner's accounts; with since (the cursor of the previous listing) only those changed since."""
        return self._call("GET", "/accounts", params={"since": since} if since is not None else None)

    def account(self, account_id: str) -> dict:
        return self._call("GET", f"/accounts/{account_id}")

    def ledger(self, account_id: str, newer_than: int | None = None) -> list:
        """Ledger lines of the account newest first, following the pages back to line newer_than."""
        return self._pages(f"/accounts/{account_id}/ledger", "lines", newer_than)

    def history(self, account_id: str, newer_than: int | None = None) -> list:
        """The account's events newest first (R25), following the pages back to event newer_than."""
        return self._pages(f"/accounts/{account_id}/history", "events", newer_than)

    def _pages(self, path: str, key: str, newer_than: int | None) -> list:
        """A list paged newest first by `before` (ledger, history), back to the item with id newer_than."""
        items: list = []
        params: dict = {}
        for _ in range(10_000):
            page = self._call("GET", path, params=params)
            found = page.get(key)
            if not isinstance(found, list):
                break
            items.extend(found)
            cursor = page.get("next_before")
            reached = newer_than is not None and any(
                isinstance(item, dict) and isinstance(item.get("id"), int) and item["id"] <= newer_than
                for item in found)
            if not isinstance(cursor, int) or not found or reached:
                break
            params = {"before": cursor}
        return items

    def customer_link(self, account_id: str) -> dict:
        """R27: a new link to the customer's page, mailed to them by the server; the old one stops at once."""
        return self._call("POST", f"/accounts/{account_id}/customer-link")

    def sync(self, body: dict) -> dict:
        return self._call("POST", "/sync", body)


def untrusted_key_reason(answer, keyring) -> Reason | None:
    """When an answer is signed with a key this app does not trust, say which key file is missing (plain words,
    not the verifier's "trusted keys are none"); None when every envelope names a trusted key."""
    envelopes = []
    if isinstance(answer, dict):
        for value in answer.values():
            envelopes += value if isinstance(value, list) else [value]
    for envelope in envelopes:
        kid = envelope.get("kid") if isinstance(envelope, dict) else None
        if isinstance(kid, str) and kid not in keyring:
            return Reason("sync", "sync-untrusted-key", {"kid": kid})
    return None


@dataclass(frozen=True)
class ConnectionCheck:
    """What a first run learnt of a server and token: who is connected, or what failed as a code the screen words
    (unreachable, not-a-server, token-unknown, token-revoked, token-expired, server-error with detail, untrusted-key with kid)."""

    ok: bool
    technician: str | None = None
    partner: str | None = None
    code: str | None = None
    field: str | None = None  # server_url | token: where the problem is shown
    detail: str | None = None  # the server's own words (server-error) or the key id (untrusted-key)
    reason: Reason | None = None  # what the app refused itself, as data (an address that would send the token in clear)


def check_connection(url: str, token: str, keyring, *,
                     transport: httpx.BaseTransport | None = None) -> ConnectionCheck:
    """Ask the server who the token belongs to and check its signing key is trusted here (nothing is stored)."""
    try:
        api = HttpTransport(url, token, transport=transport, timeout=10.0)
    except settings.InsecureServerUrl as exc:
        return ConnectionCheck(False, code="insecure-url", field="server_url", reason=exc.reason)
    try:
        try:
            health = api.health()
        except SyncError:
            return ConnectionCheck(False, code="unreachable", field="server_url")
        if health.get("status") != "ok":
            return ConnectionCheck(False, code="not-a-server", field="server_url")
        try:
            envelope = api.whoami()
        except ServerError as exc:
            if exc.status == 401:
                ended = exc.error if exc.error in ("token-revoked", "token-expired") else "token-unknown"
                return ConnectionCheck(False, code=ended, field="token")
            return ConnectionCheck(False, code="server-error", field="server_url", detail=exc.server_message)
        except SyncError:
            return ConnectionCheck(False, code="not-a-server", field="server_url")
        kid = envelope.get("kid") if isinstance(envelope, dict) else None
        if isinstance(kid, str) and kid not in keyring:
            return ConnectionCheck(False, code="untrusted-key", field="server_url", detail=kid)
        try:  # signed: whose token this is, bound to this very token (the same answer sync pins the partner on)
            me = keyring.verify_envelope(envelope, "technician")
        except SignatureError:
            return ConnectionCheck(False, code="not-a-server", field="server_url")
        if me.get("token_binding") != api.token_binding:
            return ConnectionCheck(False, code="not-a-server", field="server_url")
        technician, partner = str(me.get("technician", "")), str(me.get("partner", ""))
        return ConnectionCheck(True, technician, partner)
    finally:
        api.close()
