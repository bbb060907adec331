"""Vendor-grade access (issue 23, DESIGN §5): a technician's token can be revoked or expire, every process answers
it 401 `token-revoked` / `token-expired`, and the CLI lists technicians and keeps an audit without secrets.

Two real server processes on one database are in tests/reliability/test_revocation.py.
"""

from __future__ import annotations

import pwd
import os

import pytest

from license_server import admin
from license_server.auth import MAX_RECHECK_S, TOKEN_EXPIRED, TOKEN_OK, TOKEN_REVOKED, TOKEN_UNKNOWN, TokenCache
from license_server.config import SettingsError, load_settings
from license_server.context import ServerContext
from rental.money import SECONDS_PER_DAY
from tests.support.license_server import DEMO_KEY

from .helpers import Api, new_id

both_databases = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


class Ticker:
    """The process's monotonic clock, moved by the test."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cli(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    return result


@pytest.fixture
def other_process(database_url, tmp_path, clock):
    """Another server process's context on the same database (its own token cache)."""
    other = ServerContext.from_config({"DATABASE_URL": database_url, "SIGNING_KEY_PATH": str(DEMO_KEY),
                                       "INSTANCE_PATH": str(tmp_path), "CLOCK": clock})
    yield other
    other.engine.dispose()


@both_databases
def test_a_revoked_token_is_answered_401_token_revoked_at_once_by_the_process_that_revoked_it(app, api, ctx):
    assert api.call("GET", "/whoami")[0] == 200  # checked, hence cached
    [technician] = admin.list_technicians(ctx)
    result = cli(app, "revoke-technician", str(technician.id))
    assert result.exit_code == 0, result.output
    status, body = api.call("GET", "/whoami")
    assert (status, body["error"]) == (401, "token-revoked")
    answer = api.sync(api.op("create_account", new_id(), name="x", contact_email="x@example.com",
                             cloud_contract=False))
    assert (answer.status_code, answer.body["error"]) == (401, "token-revoked")


@both_databases
def test_another_process_trusts_a_checked_token_no_longer_than_its_recheck_time(other_process, clock, api, ctx):
    """DESIGN §5: within 5 s on every process (no R-rule covers access). The other process's cache is moved by
    its own ticker."""
    ticker = Ticker()
    cache = TokenCache(recheck_s=2, ticker=ticker)
    assert cache.check(ctx.engine, api.token, clock()).result == TOKEN_OK
    [technician] = admin.list_technicians(ctx)
    admin.revoke_technician(other_process, technician.id)
    ticker.now += 1.9  # within its recheck time it may still trust what it saw
    assert cache.check(ctx.engine, api.token, clock()).result == TOKEN_OK
    ticker.now += 0.1
    assert cache.check(ctx.engine, api.token, clock()).result == TOKEN_REVOKED


def test_a_cache_whose_monotonic_clock_went_back_asks_the_database_again(ctx, api, other_process, clock):
    ticker = Ticker()
    cache = TokenCache(recheck_s=5, ticker=ticker)
    assert cache.check(ctx.engine, api.token, clock()).result == TOKEN_OK
    [technician] = admin.list_technicians(ctx)
    admin.revoke_technician(other_process, technician.id)
    ticker.now -= 1
    assert cache.check(ctx.engine, api.token, clock()).result == TOKEN_REVOKED


def test_no_setting_lets_a_process_trust_a_token_longer_than_five_seconds():
    with pytest.raises(SettingsError, match="TOKEN_RECHECK_S must be 0 to 5"):
        load_settings({"TOKEN_RECHECK_S": 6}, environ={})
    with pytest.raises(ValueError):
        TokenCache(recheck_s=MAX_RECHECK_S + 1)
    assert load_settings({}, environ={}).TOKEN_RECHECK_S <= MAX_RECHECK_S


@both_databases
def test_a_token_with_expires_days_is_answered_401_token_expired_from_that_second(app, ctx, clock, keyring):
    token = admin.add_technician(ctx, "Acme Telecom", "Temp", expires_days=30)
    api = Api.for_flask(app.test_client(), token, ctx, clock, keyring)
    clock.advance(30 * SECONDS_PER_DAY - 1)
    assert api.call("GET", "/whoami")[0] == 200
    clock.advance(1)
    status, body = api.call("GET", "/whoami")
    assert (status, body["error"]) == (401, "token-expired")
    assert "2026-01-31T00:00:00Z" in body["message"]


def test_a_deleted_technician_is_unknown_at_the_next_check(ctx, api, clock):
    from sqlalchemy import delete

    from license_server import models

    ticker = Ticker()
    cache = TokenCache(recheck_s=2, ticker=ticker)
    assert cache.check(ctx.engine, api.token, clock()).result == TOKEN_OK
    with ctx.engine.begin() as connection:
        connection.execute(delete(models.technicians))
    ticker.now += 2
    assert cache.check(ctx.engine, api.token, clock()).result == TOKEN_UNKNOWN


def test_revoked_and_expired_tokens_are_not_counted_as_guesses(app, ctx, clock, keyring):
    """The guess limiter answers 429 after unknown tokens; a laptop retrying a revoked token must not lock its
    office's address out (every colleague shares it)."""
    revoked = Api.for_flask(app.test_client(), admin.add_technician(ctx, "Acme Telecom", "Gone"), ctx, clock, keyring)
    admin.revoke_technician(ctx, admin.list_technicians(ctx)[-1].id)
    for _ in range(ctx.settings.TOKEN_GUESS_LIMIT + 2):
        assert revoked.call("GET", "/whoami")[1]["error"] == "token-revoked"
    colleague = Api.for_flask(app.test_client(), admin.add_technician(ctx, "Acme Telecom", "Cat"), ctx, clock, keyring)
    assert colleague.call("GET", "/whoami")[0] == 200
    for _ in range(ctx.settings.TOKEN_GUESS_LIMIT):
        assert colleague.call("GET", "/whoami", token="not-a-token")[0] == 401
    assert colleague.call("GET", "/whoami")[0] == 429


def test_guesses_are_counted_per_ipv6_64_and_an_ipv4_address_however_written(app, ctx):
    """One IPv6 host holds a whole /64 and can take a new address for every guess: the /64 is what is counted, the
    next /64 is another client. ::ffff:192.0.2.9 is 192.0.2.9 (a dual-stack socket writes IPv4 peers so)."""
    client, limit = app.test_client(), ctx.settings.TOKEN_GUESS_LIMIT
    token = admin.add_technician(ctx, "Acme Telecom", "Dee")

    def whoami(address: str, bearer: str) -> int:
        return client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {bearer}"},
                          environ_base={"REMOTE_ADDR": address}).status_code

    for n in range(limit):
        assert whoami(f"2001:db8:7:1::{n + 1:x}", "not-a-token") == 401  # a fresh address for each guess
    assert whoami("2001:db8:7:1:ffff:ffff:ffff:fffe", token) == 429  # the same /64: the token is not looked at
    assert whoami("2001:db8:7:2::1", token) == 200  # the next /64 is someone else
    for _ in range(limit):
        assert whoami("::ffff:192.0.2.9", "not-a-token") == 401
    assert whoami("192.0.2.9", token) == 429
    assert whoami("192.0.2.10", token) == 200


@both_databases
def test_the_check_has_one_result_code_per_case(ctx, api, clock):
    """Issue 28 counts token failures by this code: unknown, revoked, expired (and ok)."""
    cache = TokenCache(recheck_s=0)
    assert cache.check(ctx.engine, "nobody", clock()).result == TOKEN_UNKNOWN
    short = admin.add_technician(ctx, "Acme Telecom", "Short", expires_days=1)
    assert cache.check(ctx.engine, short, clock() + SECONDS_PER_DAY).result == TOKEN_EXPIRED
    admin.revoke_technician(ctx, admin.list_technicians(ctx)[0].id)
    assert cache.check(ctx.engine, api.token, clock()).result == TOKEN_REVOKED


def test_list_technicians_prints_one_tab_separated_line_each_with_its_state(app, ctx, clock, api):
    clock.set(1_796_612_400)  # 2026-12-07T03:00:00Z
    admin.add_technician(ctx, "Rival Networks", "Bob", expires_days=1)
    admin.add_technician(ctx, "Rival Networks", "Cat")
    first, second, third = admin.list_technicians(ctx)
    assert cli(app, "revoke-technician", str(third.id)).exit_code == 0
    clock.advance(SECONDS_PER_DAY)
    result = cli(app, "list-technicians")
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        f"{first.id}\tAcme Telecom\tAnn\t2026-01-01T00:00:00Z\tactive",
        f"{second.id}\tRival Networks\tBob\t2026-12-07T03:00:00Z\texpired",
        f"{third.id}\tRival Networks\tCat\t2026-12-07T03:00:00Z\trevoked",
    ]


def test_revoking_an_unknown_id_or_a_word_says_where_ids_are_listed(app, api):
    result = cli(app, "revoke-technician", "999")
    assert result.exit_code != 0 and "list-technicians" in result.output
    result = cli(app, "revoke-technician", "Ann")
    assert result.exit_code != 0 and "whole number" in result.output


@pytest.mark.parametrize("days", ["0", "-3", "1.5", "ten", "40000"])
def test_a_bad_expires_days_is_refused_with_its_range(app, days):
    result = cli(app, "add-technician", "--partner", "Acme", "--name", "Ann", "--expires-days", days)
    assert result.exit_code != 0 and "--expires-days must be a whole number of days from 1" in result.output


def test_a_name_with_a_tab_is_refused_so_the_listing_stays_one_line_each(app):
    result = cli(app, "add-technician", "--partner", "Acme", "--name", "Ann\tAdmin")
    assert result.exit_code != 0 and "control characters" in result.output


def test_the_audit_says_who_ran_which_command_newest_first_without_secrets(app, ctx, clock, tmp_path):
    clock.set(1_796_612_400)
    token = cli(app, "add-technician", "--partner", "Acme Telecom", "--name", "Ann", "--expires-days", "30").stdout
    token = token.strip()
    clock.advance(60)
    [key] = cli(app, "issue-keys", "--amount", "250", "--count", "1").stdout.split()
    technician = admin.list_technicians(ctx)[0]
    clock.advance(60)
    cli(app, "revoke-technician", str(technician.id))
    cli(app, "list-technicians")  # reads are not administrator actions
    result = cli(app, "audit")
    assert result.exit_code == 0 and result.stderr == ""
    user = pwd.getpwuid(os.getuid()).pw_name
    if os.environ.get("SUDO_USER") and os.environ["SUDO_USER"] != user:
        user = f"{user} (sudo by {os.environ['SUDO_USER']})"
    assert result.output.splitlines() == [
        f"2026-12-07T03:02:00Z\t{user}\trevoke-technician\t{technician.id}",
        f"2026-12-07T03:01:00Z\t{user}\tissue-keys\t--amount 250 --count 1",
        f"2026-12-07T03:00:00Z\t{user}\tadd-technician\t--partner 'Acme Telecom' --name Ann --expires-days 30",
    ]
    assert token not in result.output and key not in result.output


def test_audit_arguments_leave_out_anything_named_like_a_secret():
    line = admin.audit_arguments({"command": "x", "partner": "P", "new_token": "abc", "db_password": "pw",
                                  "link_secret": "s", "passphrase": "p", "file": "/tmp/a b.json", "unset": None})
    assert line == "--partner P '/tmp/a b.json'"
