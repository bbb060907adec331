"""The rental guide's rules in one line each (SPEC R1-R26), in the app's language: the text behind a "why?".

One place for them, so every screen (and the reasons rendered from codes) can explain a rule the same way.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

RULES = {
    "R1": _l("Rental needs PBX firmware 13r1 or later."),
    "R2": _l("Every license on the price list can be rented, except hardware licenses (01-00500-xxx) and partner "
             "or third-party software."),
    "R3": _l("Software maintenance is included in the rent: a rental PBX may always run the newest firmware, and "
             "no maintenance item is ever billed."),
    "R4": _l("Commissioning and configuration work are not part of the rent."),
    "R5": _l("Rent is paid only with iSC held on the customer's account, bought from an authorised partner."),
    "R6": _l("Rented licenses must run continuously: reducing and restoring them again and again (e.g. over "
             "weekends) is not allowed."),
    "R7": _l("A rental PBX runs on VMware, Hyper-V or the vendor's hardware; a cloud installation needs a cloud "
             "contract on the account."),
    "R8": _l("A PBX runs only rented or only purchased licenses, never both."),
    "R9": _l("The app contacts the license server when a PBX is commissioned, when its licenses change and when "
             "iSC are loaded."),
    "R10": _l("Rent is charged per second from activation; with no credit the installation stops."),
    "R11": _l("iSC come as activation keys, loaded in the app onto the customer's account."),
    "R12": _l("Each item's rent per month is 1/12 of its yearly price; the charge itself runs per second."),
    "R13": _l("iSC belong to the account and are never refunded or moved; deleting the account forfeits them."),
    "R14": _l("Licenses are activated only when the credit covers the new configuration for at least 30 days."),
    "R15": _l("Items may be added or removed at any time; consumption and runtime change at once."),
    "R16": _l("After every change the app shows the remaining runtime and the monthly consumption."),
    "R17": _l("iSC can be bought and loaded at any time."),
    "R18": _l("When the credit is used up, every rented license of the account stops; loading iSC resumes them."),
    "R19": _l("The customer may end the rent at any time; unused iSC stay on the account for 24 months."),
    "R20": _l("The customer is e-mailed before the credit runs out, weekly from 7 weeks before."),
    "R21": _l("List prices are monthly averages (1/12 of a year); the charge runs per second."),
    "R22": _l("At every configuration change the license server states the consumption and the runtime."),
    "R23": _l("After a price change, the old prices stay valid until the account's next license change or load of "
              "iSC."),
    "R24": _l("Deposited activation keys reload the account automatically when its runtime falls to 14 or 28 days."),
    "R25": _l("For any period the statement shows, per PBX and item, the quantity, seconds, rate and amount."),
    "R26": _l("A new account records the customer's acceptance of the rental terms."),
}


def rule_text(rule: str | None) -> str:
    """The rule in one line of the app's language ("" for a code that is no rule of the guide, e.g. bad-op)."""
    text = RULES.get(rule or "")
    return str(text) if text is not None else ""


def init_app(app: Flask) -> None:
    app.jinja_env.filters["rule_text"] = rule_text
