"""Payloads of the signed documents (DESIGN §4, §5): account, op-result (pricelist and terms: context, terms)."""

from __future__ import annotations

from typing import Any

from rental import ops as decider
from rental import reload
from rental.pricing import PriceHistory, PriceList
from rental.reasons import Reason
from rental.rules import Policy

from .store import AccountRecord


def account_payload(record: AccountRecord, now: int, policy: Policy = Policy(),
                    pricelist: PriceList | None = None, prices: PriceHistory | None = None) -> dict[str, Any]:
    """The account as of the server's now: past depletes_at it is suspended, charged up to that second (R18);
    with when unused credit expires (R19) and, suspended, the least load that resumes it at the current list.
    Automatic reloads re-rate at the list in force at their seconds (prices; by default pricelist alone, R24)."""
    if prices is None:
        prices = PriceHistory((pricelist,))
    row = record.row
    state = record.state()
    deposits, days = record.deposits, row.get("auto_reload_days") or 0
    if not state.deleted and now > state.as_of:  # reloads whose second has passed are applied (R24)
        done, settled = reload.forward(state, deposits, days, policy, now, prices)
        state, deposits = settled.account, done.deposits
    status = state.status
    pbxs = []
    for pbx_id, pbx in record.pbxs.items():
        lines = state.lines_of(pbx_id)
        pbx_status = decider.pbx_status(state, pbx_id)
        pbxs.append({
            "pbx_id": pbx_id, "name": pbx["name"], "serial": pbx["serial"], "platform": pbx["platform"],
            "hardware_model": pbx["hardware_model"], "firmware": pbx["firmware"], "mode": pbx["mode"],
            "status": pbx_status, "revision": pbx["revision"],
            "licenses": [
                {"ref": line.ref, "qty": line.qty, "monthly_milli": line.monthly_milli,
                 "rate_ticks_per_s": line.rate, "price_version": line.price_version}
                for line in lines
            ],
        })
    return {
        "account_id": record.id, "partner": row["partner"], "name": row["name"],
        "contact_email": row["contact_email"], "cloud_contract": row["cloud_contract"],
        "language": row["language"], "status": status, "revision": row["revision"],
        "as_of": state.as_of, "balance_ticks": state.balance, "rate_ticks_per_s": state.rate,
        "depletes_at": state.depletes_at, "price_version": state.price_version,
        # extensions: what R16 shows, and where R19's retention starts
        "monthly_milli": state.monthly_milli,
        "last_activity_at": state.last_activity_at,
        "retained_until": decider.retained_until(state, policy),
        "resume_needs_milli": decider.resume_needs(state, pricelist, policy),
        "pbxs": pbxs,
        # R24: automatic reload, the keys held (oldest first, the next one redeemed first) and the second it is
        # redeemed; ends_at (extension) is the end of credit counting the keys reload will still redeem
        "auto_reload_days": days,
        "deposits": [deposit.to_dict() for deposit in deposits],
        "reload_at": reload.next_reload_at(state, days, deposits),
        "ends_at": reload.ends_at(state, deposits, days, policy, prices) if not state.deleted else None,
        # R26: the rental terms the customer accepted at creation (null before the vendor published any)
        "terms_version": row.get("terms_version"), "terms_accepted_by": row.get("terms_accepted_by"),
        "terms_accepted_at": row.get("terms_accepted_at"),
        # R27: when the customer's current link was made (every account has one from its creation; none deleted)
        "customer_link_at": None if row["deleted"] else row.get("customer_link_at"),
    }


def op_result_payload(op_id: Any, account_id: Any, status: str, problems: tuple[Reason, ...],
                      warnings: tuple[Reason, ...], server_time: int, revision: int | None) -> dict[str, Any]:
    """What became of one op (DESIGN §5): reasons as data; rule and code name the first problem."""
    first = problems[0] if problems else None
    return {
        "op_id": op_id if isinstance(op_id, str) else None,
        "account_id": account_id if isinstance(account_id, str) else None,
        "status": status,
        "rule": first.rule if first else None,
        "code": first.code if first else None,
        "params": dict(first.params) if first else {},
        "message": " ".join(problem.message for problem in problems),
        "problems": [problem.to_dict() for problem in problems],
        "warnings": [warning.to_dict() for warning in warnings],
        "server_time": server_time, "revision": revision,
    }
