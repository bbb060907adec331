"""The JSON API under /api/v1 (DESIGN §5): thin views that parse, call the services, and answer."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import ClientDisconnected
from sqlalchemy import select

from rental import billing, reload
from rental.errors import RuleViolation
from rental.reasons import Reason
from rental.signing import token_binding
from rental.validation import is_ascii_digits, shown

from . import changes, history, models, store
from .auth import TOKEN_EXPIRED, TOKEN_REVOKED, TOKEN_UNKNOWN, bearer_token, iso_utc
from .context import ServerContext
from .db import reading
from .envelopes import account_payload
from .batch import apply_ops
from .opschema import is_uuid

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")

PUBLIC = {"api.health", "api.openapi"}  # and readiness.ready, on its own blueprint
LEDGER_PAGE = 100
LEDGER_MAX_PAGE = 1000


class ApiError(RuleViolation):
    """An answer other than 200 with its HTTP status: {"error": its class, "code" and "params": the reason as data
    (rental.reasons.API_ERRORS, clients word it from the code), "message": its English wording}."""

    def __init__(self, status: int, error: str, reason: str, *, retry_after: int | None = None, **params: Any):
        super().__init__(Reason.of(reason, **params))
        self.status, self.error, self.retry_after = status, error, retry_after


def error_response(status: int, error: str, reason: Reason, retry_after: int | None = None):
    """The error document of DESIGN §5, {"error": error, "message": the reason's English wording}, extended with
    the reason as data ({"code", "params"}) that clients translate."""
    document = {"error": error, "message": reason.message, "code": reason.code, "params": dict(reason.params)}
    response = jsonify(document)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="rentdesk"'
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def server() -> ServerContext:
    return current_app.extensions["license_server"]


@blueprint.before_request
def authenticate() -> None:
    """Every route but health and the API description needs a technician's bearer token."""
    here = request._get_current_object()  # one look-up of the request (every API request passes here)
    endpoint = here.endpoint
    if endpoint in PUBLIC or endpoint is None:
        return
    token = bearer_token(here.headers.get("Authorization"))
    if token is None:
        raise ApiError(401, "unauthorized", "api-token-missing")
    ctx = server()
    address, now = here.remote_addr or "?", ctx.now()
    wait = ctx.guesses.retry_after(address, now)
    if wait is not None:  # token guessing: the token is not even looked at
        raise ApiError(429, "too-many-requests", "api-token-guessing", retry_after=wait, wait=wait)
    check = ctx.tokens.check(ctx.engine, token, now)
    if check.result == TOKEN_UNKNOWN:
        ctx.guesses.failed(address, now)  # only unknown tokens are guesses; a revoked one was real
        raise ApiError(401, "unauthorized", "api-token-unknown")
    if check.result == TOKEN_REVOKED:
        raise ApiError(401, "token-revoked", "api-token-revoked")
    if check.result == TOKEN_EXPIRED:
        raise ApiError(401, "token-expired", "api-token-expired", when=iso_utc(check.expires_at))
    g.caller = check.caller


@blueprint.get("/health")
def health():
    return jsonify({"status": "ok", "version": current_app.config["RENTDESK_VERSION"]})


@blueprint.get("/openapi.json")
def openapi():
    from .openapi import spec

    return jsonify(spec(current_app.config["RENTDESK_VERSION"], server().settings.MAX_OPS))


@blueprint.get("/whoami")
def whoami():
    """Signed: whose token this is (partner, technician), bound to the token, so the app can refuse another
    partner's snapshots slipped into an answer (issue 14)."""
    ctx = server()
    token = bearer_token(request.headers.get("Authorization"))
    return jsonify(ctx.sign("technician", {"partner": g.caller.partner, "technician": g.caller.name,
                                           "token_binding": token_binding(token), "server_time": ctx.now()}))


@blueprint.get("/pricelist")
def pricelist():
    ctx = server()
    with reading(ctx.engine) as connection:
        prices = ctx.current_prices(connection)
    if prices is None:
        raise ApiError(404, "not-found", "api-no-pricelist")
    return jsonify(prices.envelope)


@blueprint.get("/terms")
def terms():
    """The current rental terms (R26), signed; 404 no-terms until the vendor published some."""
    ctx = server()
    with reading(ctx.engine) as connection:
        current = ctx.terms.current(ctx, connection)
    if current is None:
        raise ApiError(404, "no-terms", "api-no-terms")
    return jsonify(current.envelope)


@blueprint.get("/accounts")
def accounts():
    ctx = server()
    now = ctx.now()
    since = request.args.get("since")
    with reading(ctx.engine) as connection:
        prices = ctx.current_prices(connection)
        # the cursor is read before the accounts (license_server/changes.py, migration 0010)
        cursor = changes.current(connection, now,
                                 changes.basis(prices.pricelist.version if prices else None, ctx.policy))
        asked = changes.Cursor.parse(since) if since is not None else None
        full = not changes.usable(asked, cursor)
        if full:
            records = store.load_partner(connection, g.caller.partner)
        else:
            ids = changes.changed_ids(connection, g.caller.partner, asked, now)
            found = store.load_many(connection, ids)
            records = {account_id: found[account_id] for account_id in ids if account_id in found}
    return jsonify({"accounts": [_signed_account(ctx, r, now, prices) for r in records.values()],
                    "cursor": str(cursor), "full": full})


def _signed_account(ctx: ServerContext, record: store.AccountRecord, now: int, prices) -> dict:
    """The account envelope as of now, with what the policy and the current list say of it (R18, R19)."""
    return ctx.sign("account", account_payload(record, now, ctx.policy, prices.pricelist if prices else None,
                                                prices.history if prices else None))


def _own_account(connection, account_id: str) -> store.AccountRecord:
    """The caller's account, or 404 whether it is missing or another partner's (learning nothing)."""
    record = store.load(connection, account_id.lower()) if is_uuid(account_id) else None
    if record is None or record.row["partner"] != g.caller.partner:
        raise ApiError(404, "not-found", "api-account-unknown")
    return record


@blueprint.get("/accounts/<account_id>")
def account(account_id: str):
    """A read is not a connection event (R23): nothing is re-rated or stored."""
    ctx = server()
    now = ctx.now()
    with reading(ctx.engine) as connection:
        record = _own_account(connection, account_id)
        prices = ctx.current_prices(connection)
    return jsonify(_signed_account(ctx, record, now, prices))


@blueprint.post("/accounts/<account_id>/customer-link")
def customer_link(account_id: str):
    """A new link to the customer's page (R27): the old one stops at once, and the customer is mailed the new one
    (the technician's "send a new link to the customer")."""
    from .links import LinkRefused, NoPublicUrl, renew

    if not is_uuid(account_id):
        raise ApiError(404, "not-found", "api-account-unknown")
    try:
        renewed = renew(server(), account_id.lower(), partner=g.caller.partner, technician=g.caller.name, send=True)
    except NoPublicUrl:
        # 409, not 5xx: the server works, its configuration lacks what this request needs
        raise ApiError(409, "no-public-url", "api-no-public-url") from None
    except LinkRefused as refused:
        raise ApiError(404 if refused.code == "not-found" else 409, refused.code,
                       "api-account-unknown" if refused.code == "not-found" else "api-link-account-deleted") from None
    return jsonify({"url": renewed.url, "customer_link_at": renewed.at})


@blueprint.get("/accounts/<account_id>/ledger")
def ledger(account_id: str):
    """Ledger lines newest first, paged by `before` (a line id); page one also shows the charge still open (R25)."""
    limit = _int_arg("limit", LEDGER_PAGE, 1, LEDGER_MAX_PAGE)
    before = _int_arg("before", None, 1, 2**62)
    ctx = server()
    now = ctx.now()
    lines: list[dict[str, Any]] = []
    with reading(ctx.engine) as connection:
        record = _own_account(connection, account_id)
        if before is None and not record.row["deleted"]:
            state = record.state()
            if now > state.as_of:  # charged (and reloaded, R24) by the time of the answer, written at the next
                # change or sweep
                prices = ctx.current_prices(connection)
                done, settled = reload.forward(state, record.deposits, record.row["auto_reload_days"] or 0,
                                               ctx.policy, now, prices.history if prices else None)
                lines += [_line(None, entry, open_=True) for entry in reversed(done.entries + settled.entries)]
        C = models.ledger.c
        query = select(models.ledger).where(C.account_id == record.id)
        if before is not None:
            query = query.where(C.id < before)
        rows = connection.execute(query.order_by(C.id.desc()).limit(limit + 1)).mappings().all()
    more = len(rows) > limit
    rows = rows[:limit]
    lines += [_line(row["id"], row) for row in rows]
    return jsonify({"lines": lines, "as_of": now, "next_before": rows[-1]["id"] if more else None})


@blueprint.get("/accounts/<account_id>/history")
def account_history(account_id: str):
    """The account's events newest first (R25), paged by `before` (an event id) like the ledger; page one also
    shows a stop whose second has passed before the sweep wrote it (every answer is as of now)."""
    limit = _int_arg("limit", LEDGER_PAGE, 1, LEDGER_MAX_PAGE)
    before = _int_arg("before", None, 1, 2**62)
    ctx = server()
    now = ctx.now()
    with reading(ctx.engine) as connection:
        record = _own_account(connection, account_id)
        events, next_before = history.page(connection, record.id, limit, before)
    if before is None:
        events = history.with_unrecorded_stop(events, record.row, now)
    return jsonify({"events": events, "as_of": now, "next_before": next_before})


def _line(line_id, source, open_: bool = False) -> dict[str, Any]:
    if isinstance(source, billing.Entry):
        entry = source
        data = {"kind": entry.kind, "at": entry.at, "ticks": entry.ticks, "pbx_id": entry.pbx_id, "ref": entry.ref,
                "qty": entry.qty, "start": entry.start, "end": entry.end, "seconds": entry.seconds,
                "rate": entry.rate, "price_version": entry.price_version, "key_id": entry.key_id,
                "auto": entry.auto}
    else:
        data = {"kind": source["kind"], "at": source["at"], "ticks": source["ticks"], "pbx_id": source["pbx_id"],
                "ref": source["ref"], "qty": source["qty"], "start": source["period_start"],
                "end": source["period_end"], "seconds": source["seconds"], "rate": source["rate"],
                "price_version": source["price_version"], "key_id": source["key_id"],
                "auto": bool(source["auto"])}
    return {"id": line_id, "open": open_, **data}


def _int_arg(name: str, default, low: int, high: int):
    raw = request.args.get(name)
    if raw is None:
        return default
    if not is_ascii_digits(raw) or len(raw) > 20 or not low <= int(raw) <= high:
        raise ApiError(422, "bad-request", "api-not-whole", name=name, low=low, high=high)
    return int(raw)


@blueprint.post("/sync")
def sync():
    """Apply the ops in order (one transaction, see ops.py); answer their results and the accounts they named, as of now."""
    ctx = server()
    body = _json_body()
    if not isinstance(body, dict) or not is_uuid(body.get("client_id")) or not isinstance(body.get("ops"), list):
        raise ApiError(422, "bad-request", "api-sync-body")
    ops = [canonical_ids(op) for op in body["ops"]]
    if len(ops) > ctx.settings.MAX_OPS:
        raise ApiError(413, "too-large", "api-too-many-ops", count=len(ops), max=ctx.settings.MAX_OPS)
    now = ctx.now()
    here = g._get_current_object()  # one look-up of the request's globals
    caller = here.caller
    batch = apply_ops(ctx, caller, ops, now, str(body["client_id"]).lower())
    here.op_outcomes = (ops, batch.outcomes)  # counted by license_server.metrics when METRICS is on
    named = dict.fromkeys(outcome.account_id for outcome in batch.outcomes if outcome.account_id is not None)
    # An op may name an account that does not exist (a stored refusal of create_account, an op_id reused with
    # another account_id): answer only accounts the batch holds, and only the caller's partner's (DESIGN §5).
    prices = batch.prices
    accounts_out = [ctx.sign_text("account", account_payload(
                        batch.records[account_id], now, ctx.policy, prices.pricelist if prices else None,
                        prices.history if prices else None))[1]
                    for account_id in named
                    if account_id in batch.records and batch.records[account_id].row["partner"] == caller.partner]
    # the answer written from texts at hand: each op result as the batch stored it, each envelope's text made with
    # its signature (a second encoding of every signed document by jsonify cost a few per cent of a single-op
    # sync, issue 27)
    text = (f'{{"results": [{", ".join(outcome.json() for outcome in batch.outcomes)}], '
            f'"accounts": [{", ".join(accounts_out)}], '
            f'"pricelist": {batch.prices.envelope_text if batch.prices else "null"}}}')
    return current_app.response_class(text, mimetype="application/json")


def canonical_ids(op: Any) -> Any:
    """An op with its UUIDs in lower case: 6C1D… and 6c1d… name one account (and one op), as RFC 9562 says."""
    if not isinstance(op, dict):
        return op
    return {**op, **{name: op[name].lower() for name in ("op_id", "account_id") if is_uuid(op.get(name))}}


def _read_body() -> bytes:
    """The body, refused with 413 when longer than MAX_BODY_BYTES.

    werkzeug stops reading a chunked body (no Content-Length) at the limit without a word, so a
    truncated body that happens to parse would be applied (NOTES): read one byte more ourselves.
    """
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    environ = request.environ
    length = request.content_length
    if length is not None and limit is not None and length <= limit:
        # read straight from the server's input (every /sync does; werkzeug's wrapped stream costs more than the
        # read): exactly Content-Length bytes, a body cut short being a client gone, as werkzeug says it
        stream, chunks, size = environ["wsgi.input"], [], 0
        while size < length:
            try:
                chunk = stream.read(length - size)
            except OSError as exc:
                raise ClientDisconnected() from exc
            if not chunk:
                raise ClientDisconnected()
            chunks.append(chunk)
            size += len(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    if limit is None or length is not None or not environ.get("wsgi.input_terminated"):
        return request.get_data(cache=False)  # a Content-Length over the limit is refused by werkzeug
    stream, chunks, size = environ["wsgi.input"], [], 0
    while size <= limit:
        chunk = stream.read(min(1 << 16, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise ApiError(413, "too-large", "api-body-too-large", limit=limit)
    return b"".join(chunks)


def _json_body() -> Any:
    raw = _read_body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "bad-json", "api-not-utf8", byte=exc.start) from None
    try:
        return json.loads(text, parse_constant=_no_constant, object_pairs_hook=_refuse_duplicates)
    except RecursionError:
        raise ApiError(400, "bad-json", "api-too-deep") from None
    except DuplicateKey as exc:
        raise ApiError(400, "bad-json", "api-duplicate-key", key=shown(exc.key)) from None
    except NotJsonConstant as exc:
        raise ApiError(400, "bad-json", "api-not-json", detail=str(exc)) from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, "bad-json", "api-not-json",
                       detail=f"{exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except ValueError:  # e.g. an integer of thousands of digits (Python's own words name its internals)
        raise ApiError(400, "bad-json", "api-number-too-long") from None


class DuplicateKey(ValueError):
    """An object naming one key twice: JSON leaves its meaning open (Python keeps the last, a proxy or another
    parser may keep the first), so the body is refused rather than read one way of the two."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    found = dict(pairs)
    if len(found) != len(pairs):  # rare: only then look for which key came twice
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return found


class NotJsonConstant(ValueError):
    """NaN, Infinity and -Infinity: Python's json reads them, JSON has none."""


def _no_constant(name: str):
    raise NotJsonConstant(f"{name} is not a JSON value")
