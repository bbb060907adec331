"""GET /api/v1/openapi.json: the API as OpenAPI 3.1, built from the same op schemas the server validates with."""

from __future__ import annotations

from typing import Any

from rental.reasons import API_ERRORS, EVENTS

from .opschema import OPS, json_schema


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    texts = {400: "the body is not JSON or not UTF-8",
             401: "missing or unknown bearer token (unauthorized), or one the vendor revoked (token-revoked) or "
                  "that has expired (token-expired)",
             404: "no such account among the caller's partner's accounts (another partner's answers the same)",
             413: "too many ops in one batch, or a body too large", 422: "JSON of the wrong shape",
             429: "too many unknown tokens from this address: wait Retry-After seconds (token guessing)"}
    answers = {str(status): _json(_ref("Error"), texts[status]) for status in statuses}
    if "401" in answers:  # wherever a token is checked, guessing it is limited
        answers["429"] = _json(_ref("Error"), texts[429])
        answers["429"]["headers"] = {"Retry-After": {"schema": {"type": "integer", "minimum": 1},
                                                     "description": "seconds to wait"}}
    return answers


def spec(version: str, max_ops: int) -> dict[str, Any]:
    """The whole description; every route of api.py is here (a test keeps it so)."""
    account_id = {"name": "account_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
    paging = [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
              {"name": "before", "in": "query", "schema": {"type": "integer", "minimum": 1},
               "description": "page on: the next_before of the previous page"}]  # the ledger and the history
    envelope = _ref("Envelope")
    op_kinds = {kind: json_schema(kind) for kind in OPS}
    schemas: dict[str, Any] = {
        "Error": {
            "type": "object", "required": ["error", "message"], "additionalProperties": False,
            "properties": {
                "error": {"type": "string", "enum": ["bad-json", "unauthorized", "token-revoked", "token-expired",
                                                     "not-found", "no-terms",
                                                     "method-not-allowed", "too-large", "bad-request",
                                                     "too-many-requests", "internal", "headers-too-large",
                                                     "uri-too-long", "no-public-url", "account-deleted"]},
                "message": {"type": "string", "description": "what went wrong and what would fix it"},
                "code": {"type": "string", "enum": sorted(API_ERRORS),
                         "description": "the reason as data (clients word it from the code, with params)"},
                "params": {"type": "object", "description": "the reason's values, named in its template"},
            },
        },
        "Envelope": {
            "type": "object", "required": ["type", "kid", "payload", "sig"], "additionalProperties": False,
            "description": "A signed document (DESIGN §4): sig is Ed25519 over b'rentdesk/' + type + b'/v1\\n' + "
                           "payload bytes; verify before parsing. Payloads: AccountPayload, OpResultPayload, "
                           "PricelistPayload, TermsPayload, TechnicianPayload.",
            "properties": {
                "type": {"type": "string", "enum": ["account", "op-result", "pricelist", "terms", "technician"]},
                "kid": {"type": "string"},
                "payload": {"type": "string", "description": "base64url (unpadded) of the UTF-8 JSON payload"},
                "sig": {"type": "string", "description": "base64url (unpadded) Ed25519 signature"},
            },
        },
        "Op": {"oneOf": [_ref(f"Op_{kind}") for kind in OPS], "discriminator": {
            "propertyName": "kind", "mapping": {kind: f"#/components/schemas/Op_{kind}" for kind in OPS}}},
        **{f"Op_{kind}": schema for kind, schema in op_kinds.items()},
        "OpResultPayload": {
            "type": "object",
            "required": ["type", "op_id", "account_id", "status", "rule", "message", "server_time", "revision"],
            "properties": {
                "type": {"const": "op-result"},
                "op_id": {"type": ["string", "null"]}, "account_id": {"type": ["string", "null"]},
                "status": {"type": "string", "enum": ["applied", "rejected", "conflict"]},
                "rule": {"type": ["string", "null"], "description": "R1…R26, or key-invalid, key-used, access, "
                         "deleted, not-found, bad-op, op-reuse"},
                "message": {"type": "string"}, "server_time": {"type": "integer"},
                "revision": {"type": ["integer", "null"]},
                "warnings": {"type": "array", "items": {"type": "string"}},
            },
        },
        "AccountPayload": {
            "type": "object",
            "required": ["type", "account_id", "partner", "name", "contact_email", "cloud_contract", "language",
                         "status", "revision", "as_of", "balance_ticks", "rate_ticks_per_s", "depletes_at",
                         "price_version", "pbxs"],
            "properties": {
                "type": {"const": "account"}, "account_id": {"type": "string"}, "partner": {"type": "string"},
                "name": {"type": "string"}, "contact_email": {"type": "string"}, "cloud_contract": {"type": "boolean"},
                "language": {"type": "string", "enum": ["en", "fr"]},
                "status": {"type": "string", "enum": ["active", "idle", "suspended", "deleted"]},
                "revision": {"type": "integer"}, "as_of": {"type": "integer"},
                "balance_ticks": {"type": "integer"}, "rate_ticks_per_s": {"type": "integer"},
                "depletes_at": {"type": ["integer", "null"]}, "price_version": {"type": ["string", "null"]},
                "monthly_milli": {"type": "integer"}, "last_activity_at": {"type": "integer"},
                "terms_version": {"type": ["string", "null"], "description": "the rental terms accepted (R26)"},
                "terms_accepted_by": {"type": ["string", "null"], "description": "the customer's signatory"},
                "terms_accepted_at": {"type": ["integer", "null"], "description": "when the server recorded it"},
                "customer_link_at": {"type": ["integer", "null"], "description": "when the customer's current link "
                                     "was made (R27); null once deleted"},
                "auto_reload_days": {"type": "integer", "enum": [0, 14, 28],
                                     "description": "automatic reload (R24): 0 off, else the runtime in days at which "
                                                    "the oldest held key is redeemed"},
                "deposits": {"type": "array", "description": "keys held for the account (R24), oldest first",
                             "items": {"type": "object", "properties": {
                                 "key_id": {"type": "string"}, "amount_milli": {"type": "integer"},
                                 "deposited_at": {"type": "integer"}}}},
                "reload_at": {"type": ["integer", "null"],
                              "description": "the second R24 redeems the next held key; null when none will"},
                "ends_at": {"type": ["integer", "null"],
                            "description": "the end of credit counting the held keys automatic reload will redeem"},
                "pbxs": {"type": "array", "items": {"type": "object", "properties": {
                    "pbx_id": {"type": "string"}, "name": {"type": "string"}, "serial": {"type": "string"},
                    "platform": {"type": "string"}, "hardware_model": {"type": ["string", "null"]},
                    "firmware": {"type": "string"}, "mode": {"type": "string"},
                    "status": {"type": "string", "enum": ["active", "idle", "suspended"]},
                    "revision": {"type": "integer"},
                    "licenses": {"type": "array", "items": {"type": "object", "properties": {
                        "ref": {"type": "string"}, "qty": {"type": "integer"}, "monthly_milli": {"type": "integer"},
                        "rate_ticks_per_s": {"type": "integer"}, "price_version": {"type": "string"}}}},
                }}},
            },
        },
        "PricelistPayload": {
            "type": "object", "required": ["type", "version", "published_at", "items"],
            "properties": {
                "type": {"const": "pricelist"}, "version": {"type": "string"}, "published_at": {"type": "integer"},
                "items": {"type": "array", "items": {"type": "object",
                          "required": ["ref", "name", "category", "monthly_milli", "rentable", "note"], "properties": {
                              "ref": {"type": "string"}, "name": {"type": "string"}, "category": {"type": "string"},
                              "monthly_milli": {"type": "integer"}, "rentable": {"type": "boolean"},
                              "note": {"type": "string"}}}},
            },
        },
        "TermsPayload": {
            "type": "object", "required": ["type", "version", "published_at", "texts"],
            "description": "The rental terms the vendor published (R26): the rental contract and the general "
                           "rental terms, in Markdown.",
            "properties": {
                "type": {"const": "terms"}, "version": {"type": "string"}, "published_at": {"type": "integer"},
                "texts": {"type": "object", "required": ["en", "fr"], "additionalProperties": False,
                          "properties": {"en": {"type": "string"}, "fr": {"type": "string"}}},
            },
        },
        "TechnicianPayload": {
            "type": "object", "required": ["type", "partner", "technician", "token_binding", "server_time"],
            "properties": {
                "type": {"const": "technician"}, "partner": {"type": "string"}, "technician": {"type": "string"},
                "token_binding": {"type": "string", "description": "hex SHA-256 of b'rentdesk/whoami/v1\\n' + the "
                                  "bearer token: the document answers this token, not another"},
                "server_time": {"type": "integer"},
            },
        },
        "HistoryEvent": {
            "type": "object", "required": ["id", "at", "kind", "technician", "code", "params", "message"],
            "description": "One event of the account's history (R25); translate from code and params.",
            "properties": {
                "id": {"type": ["integer", "null"], "description": "null for a stop whose second has passed but "
                                                                  "which the sweep has not written yet"},
                "at": {"type": "integer", "description": "UTC seconds"},
                "kind": {"type": "string", "enum": sorted(EVENTS)},
                "technician": {"type": ["string", "null"], "description": "whose op made it; null: the server, or "
                                                                          "the customer"},
                "by": {"type": ["string", "null"], "enum": ["technician", "customer", None],
                       "description": "who made it: a technician, the customer on their own page (R27), or null "
                                      "(the server itself)"},
                "code": {"type": "string", "description": "event-<kind>, the wording's catalog code"},
                "params": {"type": "object"}, "message": {"type": "string"},
            },
        },
        "LedgerLine": {
            "type": "object",
            "properties": {
                "id": {"type": ["integer", "null"], "description": "null for the charge still open (not yet written)"},
                "open": {"type": "boolean"},
                "kind": {"type": "string", "enum": ["credit", "charge", "forfeit", "expiry"]},
                "at": {"type": "integer"}, "ticks": {"type": "integer", "minimum": 0},
                "pbx_id": {"type": ["string", "null"]}, "ref": {"type": ["string", "null"]}, "qty": {"type": "integer"},
                "start": {"type": ["integer", "null"]}, "end": {"type": ["integer", "null"]},
                "seconds": {"type": "integer"}, "rate": {"type": "integer"},
                "price_version": {"type": ["string", "null"]}, "key_id": {"type": ["string", "null"]},
                "auto": {"type": "boolean", "description": "a credit redeemed by automatic reload (R24)"},
            },
        },
    }
    public: list[dict[str, list[str]]] = []
    return {
        "openapi": "3.1.0",
        "info": {"title": "RentDesk license server", "version": version,
                 "description": "The authority for credit, keys and signed answers (DESIGN §5). Every answer is "
                                "as of the server's now; amounts are integers (ticks, milli-iSC)."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": schemas},
        "paths": {
            "/health": {"get": {"operationId": "health", "security": public, "responses": {"200": _json({
                "type": "object", "required": ["status", "version"],
                "properties": {"status": {"const": "ok"}, "version": {"type": "string"}}}, "the server runs")}}},
            "/ready": {"get": {"operationId": "ready", "security": public, "description": "May this process take "
                               "traffic: the database answers, the schema is current, the signing key is loaded.",
                               "responses": {
                "200": _json({"type": "object", "required": ["status"], "properties": {"status": {"const": "ready"}}},
                             "ready to serve"),
                "503": _json({"type": "object", "required": ["status", "missing"], "properties": {
                    "status": {"const": "not-ready"}, "missing": {"type": "array", "items": {
                        "enum": ["database", "schema", "signing-key"]}}}}, "what keeps it from serving")}}},
            "/openapi.json": {"get": {"operationId": "openapi", "security": public,
                                      "responses": {"200": _json({"type": "object"}, "this description")}}},
            "/whoami": {"get": {
                "operationId": "whoami",
                "description": "Whose token this is: the app keeps only account snapshots of this partner.",
                "responses": {"200": _json(envelope, "envelope of type technician (TechnicianPayload)"),
                              **_errors(401)}}},
            "/pricelist": {"get": {"operationId": "pricelist", "responses": {
                "200": _json(envelope, "envelope of type pricelist (PricelistPayload)"), **_errors(401, 404)}}},
            "/terms": {"get": {"operationId": "terms", "description": "The current rental terms (R26): new "
                               "accounts must accept this version (create_account's terms_version, accepted_by).",
                               "responses": {"200": _json(envelope, "envelope of type terms (TermsPayload)"),
                                             **_errors(401),
                                             "404": _json(_ref("Error"), "no-terms: the vendor has not published "
                                                                         "rental terms yet")}}},
            "/accounts": {"get": {
                "operationId": "accounts",
                "description": "The caller's partner's accounts as of now; with since=CURSOR only those changed "
                               "since (sweeps, other technicians, deletions as their deleted snapshot, and accounts "
                               "whose depletes_at or reload_at passed), full false. A cursor this server cannot "
                               "answer from (unknown, another server's, a newer one than the database, another price "
                               "list) gets the full list, full true. Every answer carries the cursor to send next.",
                "parameters": [{"name": "since", "in": "query", "required": False,
                                "schema": {"type": "string", "maxLength": 120}}],
                "responses": {
                "200": _json({"type": "object", "required": ["accounts", "cursor", "full"], "properties": {
                    "accounts": {"type": "array", "items": envelope}, "cursor": {"type": "string"},
                    "full": {"type": "boolean"}}}, "the caller's partner's accounts (all, or changed since)"),
                **_errors(401)}}},
            "/accounts/{account_id}": {"get": {
                "operationId": "account", "parameters": [account_id],
                "description": "A read is not a connection event (R23): nothing is re-rated.",
                "responses": {"200": _json(envelope, "envelope of type account (AccountPayload)"), **_errors(401, 404)}}},
            "/accounts/{account_id}/ledger": {"get": {
                "operationId": "ledger",
                "parameters": [account_id,
                               *paging],
                "responses": {"200": _json({"type": "object", "required": ["lines", "as_of", "next_before"],
                                            "properties": {"lines": {"type": "array", "items": _ref("LedgerLine")},
                                                           "as_of": {"type": "integer"},
                                                           "next_before": {"type": ["integer", "null"]}}},
                                           "ledger lines, newest first"), **_errors(401, 404, 422)}}},
            "/accounts/{account_id}/history": {"get": {
                "operationId": "history",
                "description": "The account's events newest first (R25), paged like the ledger.",
                "parameters": [account_id,
                               *paging],
                "responses": {"200": _json({"type": "object", "required": ["events", "as_of", "next_before"],
                                            "properties": {"events": {"type": "array", "items": _ref("HistoryEvent")},
                                                           "as_of": {"type": "integer"},
                                                           "next_before": {"type": ["integer", "null"]}}},
                                           "events, newest first"), **_errors(401, 404, 422)}}},
            "/accounts/{account_id}/customer-link": {"post": {
                "operationId": "customerLink",
                "description": "A new link to the customer's own page (R27), mailed to the customer; every older "
                               "link stops at once.",
                "parameters": [account_id],
                "responses": {"200": _json({"type": "object", "required": ["url", "customer_link_at"],
                                            "properties": {"url": {"type": "string", "format": "uri"},
                                                           "customer_link_at": {"type": "integer"}}},
                                           "the new link"),
                              "409": _json(_ref("Error"), "the account was deleted (account-deleted), or the "
                                                          "server has no PUBLIC_URL (no-public-url)"),
                              **_errors(401, 404)}}},
            "/sync": {"post": {
                "operationId": "sync",
                "description": f"Apply ops in order, one transaction each (at most {max_ops} per request).",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["client_id", "ops"],
                    "properties": {"client_id": {"type": "string", "format": "uuid"},
                                   "ops": {"type": "array", "maxItems": max_ops, "items": {"anyOf": [
                                       _ref("Op"),
                                       {"description": "anything else is answered in its place by a rejected "
                                                       "op-result with rule bad-op, not by an HTTP error"}]}}}}}}},
                "responses": {"200": _json({
                    "type": "object", "required": ["results", "accounts", "pricelist"], "properties": {
                        "results": {"type": "array", "items": envelope,
                                    "description": "op-result envelopes (OpResultPayload), one per op, in order"},
                        "accounts": {"type": "array", "items": envelope,
                                     "description": "account envelopes of every account the ops named"},
                        "pricelist": {"oneOf": [envelope, {"type": "null"}]}}}, "the results"),
                    **_errors(400, 401, 413, 422)}}},
        },
    }
