"""Issue 26 against a real license server on 127.0.0.1: a sync carries only what changed (DESIGN §5 GET
/accounts?since=). A quiet sync exchanges the cursor and no snapshot; an account changed by a second laptop arrives;
anti-rollback and partner binding hold as before; ledgers and histories come only for accounts that changed, or
when the technician opens an account's statement or history while online (then kept for offline use)."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx

from app import services, sync, transport
from rental.money import SECONDS_PER_DAY

from .test_sync import IP_PORT, laptop, prepare_customer, server_clock, sync_now  # noqa: F401 (fixtures)


class Recording(httpx.HTTPTransport):
    """Real HTTP to the server, noting every request (path, query) and the bytes of every answer."""

    def __init__(self, replace_listing: dict | None = None):
        super().__init__()
        self.calls: list[tuple[str, dict, int]] = []
        self.answers: dict[str, list] = {}
        self.replace_listing = replace_listing

    def handle_request(self, request):
        path = request.url.path.removeprefix("/api/v1")
        query = parse_qs(request.url.query.decode())
        if self.replace_listing is not None and request.method == "GET" and path == "/accounts":
            response = httpx.Response(200, json=self.replace_listing)
        else:
            response = super().handle_request(request)
            response.read()
        self.calls.append((path, query, len(response.content)))
        if path == "/accounts":
            self.answers.setdefault(path, []).append(response.json())
        return response

    def paths(self) -> list[str]:
        return [path for path, _, _ in self.calls]


def recorded_sync(store, clock, server, token, **kwargs):
    recording = Recording(**kwargs)
    api = transport.HttpTransport(server.url, token, transport=recording)
    try:
        return sync_now(store, clock, transport=api), recording
    finally:
        api.close()


def test_a_quiet_sync_sends_the_cursor_and_receives_no_snapshot(server, laptop, clock, token):
    store = laptop("a")
    prepare_customer(store, clock, server)
    assert sync_now(store, clock).ok
    report, recording = recorded_sync(store, clock, server, token)
    assert report.ok and report.sent == 0 and report.accounts_updated == 0
    [(query, listing)] = [(q, recording.answers["/accounts"][0]) for p, q, _ in recording.calls if p == "/accounts"]
    assert "since" in query  # the cursor of the previous listing
    assert listing["accounts"] == [] and listing["full"] is False
    assert not [p for p in recording.paths() if p.endswith(("/ledger", "/history"))]
    # the whole exchange is small whatever the number of accounts: price list, terms, the cursor
    assert sum(size for _, _, size in recording.calls) < 10_000
    # and the next one sends the cursor this one received
    _, again = recorded_sync(store, clock, server, token)
    [query] = [q for p, q, _ in again.calls if p == "/accounts"]
    assert query["since"] == [listing["cursor"]]


def test_an_account_changed_by_a_second_laptop_arrives_alone(server, laptop, clock, token):
    first = laptop("a")
    quiet = services.create_account(first.unit_of_work(), clock, "Quiet Shop", "office@quiet.example").account_id
    changed = services.create_account(first.unit_of_work(), clock, "Bistro Nord", "office@bistro.example").account_id
    assert sync_now(first, clock).ok
    second = laptop("b")
    services.update_account(second.unit_of_work(), clock, changed, name="Bistro Nord et Fils")
    assert sync_now(second, clock).ok
    report, recording = recorded_sync(first, clock, server, token)
    assert report.ok and report.accounts_updated == 1
    [listing] = recording.answers["/accounts"]
    assert listing["full"] is False and len(listing["accounts"]) == 1
    assert services.account_detail(first.unit_of_work(), clock, changed).name == "Bistro Nord et Fils"
    ledgers = [p.split("/")[-2] for p in recording.paths() if p.endswith("/ledger")]
    assert ledgers == [changed] and quiet not in ledgers  # its ledger was held: pulled again, the quiet one not


def test_a_sweeps_stop_arrives_with_the_next_quiet_sync(server, laptop, clock, token):
    store = laptop("a")
    account_id, pbx_id, _ = prepare_customer(store, clock, server, key_isc="6")
    services.set_licenses(store.unit_of_work(), clock, account_id, pbx_id, {IP_PORT: 10})
    assert sync_now(store, clock).ok
    revision = services.account_detail(store.unit_of_work(), clock, account_id).revision
    clock.advance(40 * SECONDS_PER_DAY)
    assert server.sweep().suspended == 1
    report, recording = recorded_sync(store, clock, server, token)
    assert report.ok and len(recording.answers["/accounts"][0]["accounts"]) == 1
    assert services.account_detail(store.unit_of_work(), clock, account_id).revision == revision + 1


def test_anti_rollback_still_refuses_an_older_snapshot_and_the_cursor_stays(server, laptop, clock, token):
    store = laptop("a")
    account_id, pbx_id, _ = prepare_customer(store, clock, server)
    assert sync_now(store, clock).ok
    with server.client(token) as client:
        old_listing = client.get("/accounts").json()  # full, with a cursor of its own
    services.set_licenses(store.unit_of_work(), clock, account_id, pbx_id, {IP_PORT: 2})
    assert sync_now(store, clock).ok
    held = services.account_detail(store.unit_of_work(), clock, account_id).revision
    with store.unit_of_work() as uow:
        cursor = uow.settings.get(sync.CURSOR_SETTING)
    report, recording = recorded_sync(store, clock, server, token, replace_listing=old_listing)
    assert report.refused
    assert "since" in [q for p, q, _ in recording.calls if p == "/accounts"][0]
    assert services.account_detail(store.unit_of_work(), clock, account_id).revision == held
    with store.unit_of_work() as uow:
        assert uow.settings.get(sync.CURSOR_SETTING) == cursor  # the replayed cursor is not taken


def test_another_partners_snapshot_in_a_delta_is_refused(server, laptop, clock, token):
    store = laptop("a")
    prepare_customer(store, clock, server)
    assert sync_now(store, clock).ok
    rival = server.add_technician("Rival Networks", "Bob")
    with server.client(rival) as client:
        client.post("/sync", json={"client_id": "9c0e7c43-7f2c-4f0a-9a7b-1d5a8a3c2b10", "ops": [
            {"op_id": "3f1c5a77-2d1e-4c55-9a0f-7e1f1b2c3d4e", "kind": "create_account",
             "account_id": "5b8f3c1e-1111-4a2b-9c3d-4e5f6a7b8c9d", "name": "Rival shop",
             "contact_email": "rival@example.com", "cloud_contract": False}]})
        theirs = client.get("/accounts").json()
    report, _ = recorded_sync(store, clock, server, token, replace_listing={**theirs, "full": False})
    assert report.refused
    ids = [a.account_id for a in services.list_accounts(store.unit_of_work(), clock)]
    assert "5b8f3c1e-1111-4a2b-9c3d-4e5f6a7b8c9d" not in ids


def test_a_new_token_starts_from_the_full_list(server, laptop, clock, token):
    store = laptop("a")
    prepare_customer(store, clock, server)
    assert sync_now(store, clock).ok
    other_token = server.add_technician("Acme Partners", "Cleo")
    report, recording = recorded_sync(store, clock, server, other_token)
    assert report.ok
    [query] = [q for p, q, _ in recording.calls if p == "/accounts"]
    assert "since" not in query and recording.answers["/accounts"][0]["full"] is True


def test_a_first_sync_pulls_no_ledger_and_opening_the_statement_online_fetches_and_keeps_it(
        server, laptop, clock, token):
    first = laptop("a")
    account_id, pbx_id, _ = prepare_customer(first, clock, server)
    services.set_licenses(first.unit_of_work(), clock, account_id, pbx_id, {IP_PORT: 10})
    assert sync_now(first, clock).ok
    clock.advance(SECONDS_PER_DAY)
    fresh = laptop("b", synced=False)
    report, recording = recorded_sync(fresh, clock, server, token)
    assert report.ok and report.accounts_updated == 1
    assert not [p for p in recording.paths() if p.endswith(("/ledger", "/history"))]
    start, end = clock.now() - 2 * SECONDS_PER_DAY, clock.now()
    with fresh.unit_of_work() as uow:
        assert not uow.replica.ledger_is_current(account_id)  # not pulled yet
        assert uow.history.newest_id(account_id) is None
    assert services.pull_details(fresh.unit_of_work, clock, account_id) is True  # the statement opened online
    online = services.statement(fresh.unit_of_work(), account_id, start, end)
    assert online.charged_ticks > 0
    with fresh.unit_of_work() as uow:
        assert uow.history.newest_id(account_id) is not None  # the history too, kept
    assert services.pull_details(fresh.unit_of_work, clock, account_id) is False  # held and current: no request
    server.stop()  # offline: what was fetched is kept
    assert services.pull_details(fresh.unit_of_work, clock, account_id) is False
    assert services.statement(fresh.unit_of_work(), account_id, start, end).charged_ticks == online.charged_ticks


def test_a_big_first_listing_reports_which_accounts_it_is_keeping(server, laptop, clock, token, monkeypatch):
    first = laptop("a")
    for name in ("Bistro Nord", "Quiet Shop", "Hôtel Azur"):
        services.create_account(first.unit_of_work(), clock, name, "office@example.org")
    assert sync_now(first, clock).ok
    monkeypatch.setattr(sync, "ACCOUNTS_PER_WRITE", 2)  # three accounts: a "big" listing in chunks of two
    second = laptop("b", synced=False)  # its first sync: the whole listing
    steps: list[tuple[str, dict]] = []
    report = sync_now(second, clock, progress=lambda step, **params: steps.append((step, params)))
    assert report.ok and report.accounts_updated == 3
    storing = [params for step, params in steps if step == sync.STORING_ACCOUNTS]
    assert storing == [{"first": 1, "last": 2, "total": 3}, {"first": 3, "last": 3, "total": 3}]  # codes, not words
