"""Each op kind is declared once in rental/ (DESIGN §6 "Op kinds"): a kind declared in a test only is checked,
projected and queued by the app, and validated, applied and described by the license server, with no other
change; and a kind's name is written in few modules."""

from __future__ import annotations

import ast
from dataclasses import replace

import pytest

from app import checks, services
from app.clock import MovableClock
from rental import opkinds
from rental.ops import KINDS, Decision, Event, changes_of
from rental.opkinds import Field, OpKind

from .conftest import FAST_KDF, PASSPHRASE, ROOT


def _rename(state, fields, ctx) -> Decision:
    """The throwaway kind's decision: the account takes the new name (a history line says so)."""
    return Decision(replace(state, name=fields["new_name"]),
                    events=(Event("account-edited", {"changes": changes_of({"name": fields["new_name"]})}),))


THROWAWAY = OpKind("rename_account", (Field("new_name", "text", max_len=60),), _rename)


@pytest.fixture
def server_clock(clock):
    return clock


@pytest.fixture
def laptop(tmp_path, server, token, clock):
    store = services.initialise(tmp_path / "laptop", PASSPHRASE, server.url, token, demo=True, kdf=FAST_KDF)
    assert services.sync_now(store, MovableClock(clock.now())).ok
    yield store
    store.close()


def _queue(store, clock, account_id, kind, fields):
    with store.unit_of_work(write=True) as uow:
        queued = services.queue(uow, clock.now(), account_id, kind, fields)
        uow.commit()
        return queued


def test_a_kind_declared_in_a_test_only_is_checked_projected_queued_and_applied_by_the_server(
        laptop, server, token, clock):
    account_id = services.create_account(laptop.unit_of_work(), clock, "Hotel Adler", "it@adler.example").account_id
    assert services.sync_now(laptop, clock).applied == 1
    with opkinds.declared(THROWAWAY):
        # the app's field checks read the declaration: every problem named, next to its field
        with pytest.raises(services.RuleViolation) as refused:
            checks.op_fields("rename_account", {"new_name": " "})
        assert [(p.code, p.field) for p in refused.value.problems] == [("field-empty", "new_name")]
        with pytest.raises(services.RuleViolation) as refused:
            _queue(laptop, clock, account_id, "rename_account", {"new_name": "x" * 61})
        assert [(p.code, p.field) for p in refused.value.problems] == [("field-too-long", "new_name")]

        queued = _queue(laptop, clock, account_id, "rename_account", {"new_name": " Hotel Adler & Spa "})
        assert queued.decision.state.name == "Hotel Adler & Spa"  # the core's decision, returned to the view
        shown = services.account_detail(laptop.unit_of_work(), clock, account_id)  # projected: the queued op on the snapshot
        assert shown.name == "Hotel Adler & Spa"
        assert [op.summary.code for op in shown.ops] == ["op-rename-account"]

        # the server's schema reads it too: OpenAPI lists it, a wrong field is refused by its code, a good op applies
        with server.client(token) as api:
            schemas = api.get("/openapi.json").json()["components"]["schemas"]
            assert schemas["Op_rename_account"]["required"] == ["op_id", "kind", "account_id", "new_name"]
        report = services.sync_now(laptop, clock)
        assert (report.sent, report.applied) == (1, 1)
        with server.client(token) as api:
            signed = server.keyring.verify_envelope(api.get(f"/accounts/{account_id}").json(), "account")
            assert signed["name"] == "Hotel Adler & Spa"
            answer = api.post("/sync", json={"client_id": "4a8e9d2c-0b7e-4f2a-8c4d-6c1d0a4e3f5b", "ops": [{"op_id": "0b7e1f2a-3c4d-4a8e-9d2c-6c1d0a4e3f5b",
                                                      "kind": "rename_account", "account_id": account_id}]})
            [result] = answer.json()["results"]
            payload = server.keyring.verify_envelope(result, "op-result")
            assert (payload["status"], payload["code"]) == ("rejected", "op-field-missing")
    assert "rename_account" not in KINDS  # the throwaway kind is gone with its block


def test_an_op_kind_name_is_written_in_at_most_four_modules():
    """DESIGN §6: everything else reads the kind's declaration (its flags, fields, description)."""
    kinds = set(KINDS)
    modules: dict[str, set[str]] = {kind: set() for kind in kinds}
    for folder in ("rental", "license_server", "app"):
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and node.value in kinds:
                    modules[node.value].add(str(path.relative_to(ROOT)))
    assert {kind: sorted(found) for kind, found in modules.items() if len(found) > 4} == {}
    assert all(modules[kind] for kind in kinds)  # the count sees each kind (its declaration at least)


def test_every_declared_kind_has_its_name_and_description_in_the_catalog():
    from rental.reasons import CATALOG

    for kind in KINDS.values():
        assert kind.label_code in CATALOG
        assert kind.description({}).code in CATALOG


def test_the_throwaway_kind_is_checked_by_the_server_schema_as_declared():
    from license_server.opschema import json_schema, validate
    from rental.errors import RuleViolation

    with opkinds.declared(THROWAWAY):
        assert validate({"kind": "rename_account", "new_name": " Spa "}) == {"new_name": "Spa"}
        with pytest.raises(RuleViolation) as bad:
            validate({"kind": "rename_account", "new_name": "Spa", "colour": "red"})
        assert bad.value.reason.code == "op-field-unknown"
        assert json_schema("rename_account")["properties"]["new_name"]["maxLength"] == 60
