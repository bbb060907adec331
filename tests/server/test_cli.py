"""`license-server` as an operator runs it (subprocesses): the stdout contract of DESIGN §5, diagnostics on stderr."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, inspect, select

from license_server import admin, models
from rental.signing import Keyring
from tests.support.postgres import free_port

CLI = str(Path(sys.executable).with_name("license-server"))


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "LICENSE_SERVER_DATABASE_URL": f"sqlite:///{tmp_path / 'ls.sqlite3'}",
            "LICENSE_SERVER_SIGNING_KEY_PATH": str(tmp_path / "keys" / "vendor-2026.key"),
            "LICENSE_SERVER_INSTANCE_PATH": str(tmp_path)}


def run(env, *args, check=True):
    done = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=60)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def test_an_operator_sets_up_a_server_from_nothing(tmp_path, env):
    keys = tmp_path / "keys"
    made = run(env, "gen-key", "--kid", "vendor-2026", "--out", str(keys))
    assert made.stdout == ""
    assert stat.S_IMODE((keys / "vendor-2026.key").stat().st_mode) == 0o600
    ring = Keyring.from_dir(keys)
    assert ring.kids == ("vendor-2026",)

    assert run(env, "init-db").stdout == ""
    engine = create_engine(env["LICENSE_SERVER_DATABASE_URL"])
    assert {"accounts", "ledger", "redeemed_keys", "ops"} <= set(inspect(engine).get_table_names())

    token = run(env, "add-technician", "--partner", "Acme Telecom", "--name", "Ann").stdout
    assert token.endswith("\n") and len(token.strip()) == 43 and "\n" not in token.strip()

    issued = run(env, "issue-keys", "--amount", "250", "--count", "3")
    lines = issued.stdout.splitlines()
    assert len(lines) == 3 and len(set(lines)) == 3
    assert [ring.read_key(line).amount_milli for line in lines] == [250_000] * 3
    assert "issued 3 key(s)" in issued.stderr

    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps(admin.demo_pricelist()))
    assert run(env, "publish-prices", str(prices)).stdout == ""
    with engine.connect() as connection:
        assert connection.execute(select(models.pricelists.c.version)).scalars().all() == ["2026-11"]

    swept = run(env, "sweep")
    assert swept.stdout == "" and "suspended 0" in swept.stderr
    engine.dispose()


def test_serve_answers_on_the_port_given(tmp_path, env):
    run(env, "gen-key", "--kid", "vendor-2026", "--out", str(tmp_path / "keys"))
    run(env, "init-db")
    port = free_port()
    server = subprocess.Popen([CLI, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:  # wait for the process to listen
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        assert answer.json()["status"] == "ok"
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=10)
    assert out == b""


def test_gen_key_never_overwrites_a_private_key(tmp_path, env):
    keys = tmp_path / "keys"
    run(env, "gen-key", "--kid", "vendor-2026", "--out", str(keys))
    first = (keys / "vendor-2026.key").read_bytes()
    again = run(env, "gen-key", "--kid", "vendor-2026", "--out", str(keys), check=False)
    assert again.returncode == 1 and again.stdout == ""
    assert "never overwritten" in again.stderr
    assert (keys / "vendor-2026.key").read_bytes() == first


def test_issuing_keys_without_a_signing_key_says_which_setting_to_set(tmp_path, env):
    run(env, "init-db")
    done = run(env, "issue-keys", "--amount", "10", "--count", "1", check=False)
    assert done.returncode == 1 and done.stdout == ""
    assert "vendor-2026.key" in done.stderr or "SIGNING_KEY_PATH" in done.stderr


@pytest.mark.parametrize("amount, words", [("-5", "negative"), ("1.2345", "more than 3 decimals"), ("ten", "not an amount")])
def test_a_bad_key_amount_is_refused_on_stderr(tmp_path, env, amount, words):
    run(env, "gen-key", "--kid", "vendor-2026", "--out", str(tmp_path / "keys"))
    done = run(env, "issue-keys", "--amount", amount, "--count", "1", check=False)
    assert done.returncode == 1 and done.stdout == "" and words in done.stderr


def test_a_bad_price_list_is_refused_and_names_the_item(tmp_path, env):
    run(env, "init-db")
    bad = admin.demo_pricelist()
    bad["items"][2]["monthly_milli"] = 1.5
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    done = run(env, "publish-prices", str(path), check=False)
    assert done.returncode == 1 and done.stdout == ""
    assert "Item #3 (01-00011-001)" in done.stderr and "float" in done.stderr
    not_json = tmp_path / "not.json"
    not_json.write_text("{")
    assert "Cannot read the price list" in run(env, "publish-prices", str(not_json), check=False).stderr


def test_a_price_list_version_is_published_once(tmp_path, env):
    run(env, "init-db")
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(admin.demo_pricelist()))
    run(env, "publish-prices", str(path))
    again = run(env, "publish-prices", str(path), check=False)
    assert again.returncode == 1 and "published before" in again.stderr


def test_the_commands_are_the_flask_apps_cli_and_run_on_its_settings_and_clock(app, api, clock):
    # DESIGN §5: create_app(config).test_cli_runner().invoke(args=["sweep"]) runs on that app, with its CLOCK
    account_id = api.running_account("10")  # two months of 10 ports
    clock.advance(3 * 2_629_800)
    result = app.test_cli_runner().invoke(args=["sweep"])
    assert result.exit_code == 0, result.output
    assert "suspended 1" in result.output
    assert api.account(account_id)["revision"] > 3  # written by the sweep, as of the app's clock
    keys = app.test_cli_runner().invoke(args=["issue-keys", "--amount", "12.5", "--count", "2"])
    assert keys.exit_code == 0 and len([line for line in keys.stdout.splitlines() if line.startswith("ISC1-")]) == 2
    bad = app.test_cli_runner().invoke(args=["issue-keys", "--amount", "-1", "--count", "1"])
    assert bad.exit_code != 0 and "Error" in bad.output


def test_create_app_accepts_flasks_own_config_keys_beside_ours(tmp_path):
    from license_server import create_app
    from license_server.config import SettingsError

    key = tmp_path / "keys"
    from rental.signing import write_key_pair

    key_path, _ = write_key_pair("vendor-2026", key)
    app = create_app({"TESTING": True, "DEBUG": False, "SIGNING_KEY_PATH": str(key_path),
                      "INSTANCE_PATH": str(tmp_path / "instance")})
    assert app.config["TESTING"] is True and app.testing
    with pytest.raises(SettingsError, match="unknown setting"):
        create_app({"TESTNG": True, "SIGNING_KEY_PATH": str(key_path)})


def test_an_operator_lists_revokes_and_audits_technicians(tmp_path, env):
    """Issue 23, DESIGN §5: the argparse program prints exactly the binding lines on stdout."""
    import pwd

    run(env, "gen-key", "--kid", "vendor-2026", "--out", str(tmp_path / "keys"))
    run(env, "init-db")
    token = run(env, "add-technician", "--partner", "Acme Telecom", "--name", "Ann", "--expires-days", "30").stdout
    [line] = run(env, "list-technicians").stdout.splitlines()
    technician_id, partner, name, created, state = line.split("\t")
    assert (partner, name, state) == ("Acme Telecom", "Ann", "active")
    assert len(created) == 20 and created.endswith("Z") and created[10] == "T"
    revoked = run(env, "revoke-technician", technician_id)
    assert revoked.stdout == "" and "401 token-revoked" in revoked.stderr
    assert run(env, "list-technicians").stdout.endswith("\trevoked\n")
    again = run(env, "revoke-technician", technician_id)
    assert "was revoked already" in again.stderr
    missing = run(env, "revoke-technician", "999", check=False)
    assert missing.returncode == 1 and "list-technicians" in missing.stderr
    audit = [line.split("\t") for line in run(env, "audit").stdout.splitlines()]
    user = pwd.getpwuid(os.getuid()).pw_name
    assert [(row[1].split(" ")[0], row[2], row[3]) for row in audit] == [
        (user, "revoke-technician", technician_id), (user, "revoke-technician", technician_id),
        (user, "add-technician", "--partner 'Acme Telecom' --name Ann --expires-days 30"), (user, "init-db", "")]
    assert token.strip() not in run(env, "audit").stdout
