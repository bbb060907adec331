"""Schemathesis drives every described operation with generated requests: answers match openapi.json, never a 500."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from license_server import admin, terms

#: The statuses DESIGN §5 gives invalid input (413: too many ops, with the limit stated; 429: token guessing).
CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": [400, 401, 404, 405, 413, 422, 429]}}})
FEW = settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def test_every_operation_answers_as_described_to_valid_and_invalid_requests(app, ctx):
    headers = {"Authorization": f"Bearer {admin.add_technician(ctx, 'Fuzz Partner', 'Fuzzer')}"}
    terms.publish(ctx, admin.demo_terms())  # GET /terms answers its 200 (R26)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=CONFIG)
    checked = []
    for found in schema.get_all_operations():
        operation = found.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @FEW
            @given(case=operation.as_strategy(generation_mode=mode))
            def answers_as_described(case):
                case.call_and_validate(headers=headers)

            try:
                answers_as_described()
            except Unsatisfiable:  # an operation with no input cannot be asked wrongly
                assert mode is GenerationMode.NEGATIVE
                continue
            checked.append((operation.label, mode.value))
    assert len([label for label, mode in checked if mode == "positive"]) == 11  # all but openapi.json itself (/ready: issue 28; customer-link: R27)
    assert {"POST /sync", "GET /accounts/{account_id}/ledger", "GET /accounts/{account_id}/history",
            "POST /accounts/{account_id}/customer-link"} <= {label for label, mode in checked if mode == "negative"}
