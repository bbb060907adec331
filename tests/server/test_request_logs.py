"""Request logs (DESIGN §5 LOG_FORMAT): one line per request with its id, the technician's id, the route, the
status and the time; errors with their request id; text by default, JSON when asked; and nothing secret — a
whole working day under gunicorn on PostgreSQL is searched for every token, key, password and key file it used.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from license_server import models
from license_server.config import SettingsError, load_settings
from tests.support.license_server import DEMO_KEY, GunicornLicenseServer, LiveLicenseServer

from .helpers import IP_PORT, Api


def request_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "license_server.requests" in line]


def technician_id(server, name: str) -> int:
    T = models.technicians.c
    with server.ctx.engine.connect() as connection:
        return connection.execute(select(T.id).where(T.name == name)).scalar_one()


def test_a_text_line_per_request_names_its_id_route_status_time_and_technician_never_the_path(tmp_path, capsys):
    with LiveLicenseServer(tmp_path / "server") as server:
        token = server.add_technician("Acme Telecom", "Ann")
        http = httpx.Client(base_url=server.url, timeout=30)
        api = Api.for_http(http, token, server.ctx, server.clock, server.keyring)
        account_id = api.new_account()
        capsys.readouterr()
        response = http.get(f"/api/v1/accounts/{account_id}", headers={"Authorization": f"Bearer {token}"})
        [line] = request_lines(capsys.readouterr().err)
        http.close()
        ann = technician_id(server, "Ann")
    assert response.status_code == 200
    request_id = response.headers["X-Request-Id"]
    assert re.fullmatch(r"\S+Z INFO license_server\.requests request request_id=(\w+) method=GET "
                        r"route=/api/v1/accounts/<account_id> status=200 duration_ms=[0-9.]+ technician=(\d+)",
                        line), line
    assert f"request_id={request_id} " in line and line.endswith(f"technician={ann}")
    assert account_id not in line and token not in line


def test_json_lines_when_log_format_is_json_and_a_proxys_request_id_is_kept(tmp_path, capsys):
    with LiveLicenseServer(tmp_path / "server", config={"LOG_FORMAT": "json"}) as server:
        capsys.readouterr()
        kept = httpx.get(server.url + "/api/v1/health", headers={"X-Request-Id": "nginx-4f9a2c01d3"})
        replaced = httpx.get(server.url + "/api/v1/accounts", headers={"X-Request-Id": "<script>alert(1)</script>"})
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert kept.headers["X-Request-Id"] == "nginx-4f9a2c01d3"
    assert replaced.headers["X-Request-Id"] != "<script>alert(1)</script>"
    first, second = [line for line in lines if line["logger"] == "license_server.requests"]
    assert first["request_id"] == "nginx-4f9a2c01d3" and first["route"] == "/api/v1/health"
    assert first["status"] == 200 and first["method"] == "GET" and first["level"] == "info"
    assert isinstance(first["duration_ms"], float) and "technician" not in first
    assert second["request_id"] == replaced.headers["X-Request-Id"] and second["status"] == 401


def test_an_error_is_logged_with_its_request_id_and_its_traceback(tmp_path, capsys):
    with LiveLicenseServer(tmp_path / "server", config={"LOG_FORMAT": "json"}) as server:
        token = server.add_technician()
        http = httpx.Client(base_url=server.url, timeout=30)
        api = Api.for_http(http, token, server.ctx, server.clock, server.keyring)
        account_id = api.new_account()
        with server.ctx.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE ledger")  # the ledger view now fails inside the server
        capsys.readouterr()
        response = http.get(f"/api/v1/accounts/{account_id}/ledger", headers={"Authorization": f"Bearer {token}"})
        http.close()
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert response.status_code == 500 and response.json()["error"] == "internal"
    [error] = [line for line in lines if line["level"] == "error"]
    assert error["request_id"] == response.headers["X-Request-Id"]
    assert error["message"] == "unexpected error" and "no such table: ledger" in error["error"]
    [line] = [line for line in lines if line["logger"] == "license_server.requests"]
    assert line["request_id"] == error["request_id"] and line["status"] == 500


def test_log_format_is_text_or_json_and_nothing_else():
    assert load_settings({}, {}).LOG_FORMAT == "text"
    assert load_settings({}, {"LICENSE_SERVER_LOG_FORMAT": "json"}).LOG_FORMAT == "json"
    with pytest.raises(SettingsError, match="LOG_FORMAT must be text or json, not 'xml'"):
        load_settings({"LOG_FORMAT": "xml"})


def _forms_of(secret: str) -> set[str]:
    """A secret as it could be written: as is, without the dashes and spaces of a grouped key, lower case."""
    bare = re.sub(r"[\s-]", "", secret)
    return {secret, bare, bare.lower(), secret.lower()}


def test_a_working_day_under_gunicorn_leaves_no_token_key_or_password_in_any_log(tmp_path, postgres_server):
    """Tokens (bearer, good and bad), activation keys, the database password and the private signing key are
    looked for in everything the server and its commands wrote: the gunicorn log (every request line, an error
    with its traceback), and the commands' stderr."""
    password = "Sesame-" + hashlib.sha256(os.urandom(8)).hexdigest()[:16]  # trust auth ignores it, logs must too
    url = postgres_server.create_database("logs_secrets").replace("postgres@", f"postgres:{password}@")
    link_secret = "Link-" + hashlib.sha256(os.urandom(8)).hexdigest()[:40]
    env = {"LICENSE_SERVER_LOG_FORMAT": "json", "LICENSE_SERVER_METRICS": "1",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "LICENSE_SERVER_PUBLIC_URL": "https://licenses.example.com",
           "LICENSE_SERVER_LINK_SECRET": link_secret}
    secrets: set[str] = {password, link_secret}
    private_pem = DEMO_KEY.read_text()
    secrets.update(line for line in private_pem.splitlines() if line and not line.startswith("-----"))
    secrets.add(base64.b64encode(DEMO_KEY.read_bytes()).decode()[:40])
    cli = Path(sys.executable).with_name("license-server")
    command_output: list[str] = []

    def run(*args: str) -> str:
        done = subprocess.run([str(cli), *args], env={**os.environ, **server.env}, capture_output=True, text=True,
                              cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        command_output.append(done.stderr)
        return done.stdout

    with GunicornLicenseServer(url, tmp_path, workers=2, env=env) as server:
        token = run("add-technician", "--partner", "Acme Telecom", "--name", "Ann").strip()
        keys = run("issue-keys", "--amount", "100", "--count", "2").split()
        secrets.add(token)
        secrets.update(keys)
        http = httpx.Client(base_url=server.url, timeout=30)
        api = Api.for_http(http, token, server.ctx, server.ctx.now, server.keyring)
        account_id = api.new_account()
        assert api.redeem(account_id, keys[0])["status"] == "applied"
        assert api.redeem(account_id, keys[0])["code"] == "key-used"  # refused: the key is in the answer, not logs
        api.register(account_id)
        assert api.set_licenses(account_id, {IP_PORT: 10})["status"] == "applied"
        forged = keys[1][:-3] + ("AAA" if not keys[1].endswith("AAA") else "BBB")
        secrets.add(forged)
        assert api.redeem(account_id, forged)["status"] == "rejected"
        wrong = "wrong-" + token[6:]
        secrets.add(wrong)
        assert http.get("/api/v1/accounts", headers={"Authorization": f"Bearer {wrong}"}).status_code == 401
        assert http.get(f"/api/v1/accounts?token={token}", headers={"Authorization": f"Bearer {token}"}) \
            .status_code == 200
        assert http.post("/api/v1/sync", content=b'{"client_id": "' + token.encode() + b'"',
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}) \
            .status_code == 400
        # the customer's own page (R27): its link carries a token in the path
        link = run("customer-link", account_id).strip()
        link_token = link.rpartition("/")[2]
        secrets.add(link_token)
        assert http.get(f"/customer/{link_token}").status_code == 200
        assert http.get(f"/customer/{link_token[:-4]}AAAA").status_code == 404
        run("sweep")
        run("init-db")
        # the vendor's record of its own actions (issue 23) names commands, never the tokens they printed
        command_output.append(run("list-technicians") + run("audit"))
        with server.ctx.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE ledger")  # an error, logged with its traceback
        assert http.get(f"/api/v1/accounts/{account_id}/ledger",
                        headers={"Authorization": f"Bearer {token}"}).status_code == 500
        http.close()
    log = (tmp_path / "gunicorn.log").read_text()
    lines = request_lines(log)
    assert len(lines) >= 10 and all(json.loads(line)["request_id"] for line in lines)
    assert any('"level": "error"' in line and "UndefinedTable" in line for line in log.splitlines())
    written = log + "\n".join(command_output)
    for secret in secrets:
        for form in _forms_of(secret):
            assert form not in written, f"a secret ({secret[:6]}…) was written to a log"
    assert hashlib.sha256(token.encode()).hexdigest() not in written  # not even the stored hash of the token
    assert all(account_id not in line for line in lines)  # the request lines name routes, not paths


def test_request_ids_are_new_for_each_request(tmp_path):
    with LiveLicenseServer(tmp_path / "server") as server:
        answers = [httpx.get(server.url + "/api/v1/health") for _ in range(5)]
    assert len({answer.headers["X-Request-Id"] for answer in answers}) == 5
    assert all(len(answer.headers.get_list("X-Request-Id")) == 1 for answer in answers)


def test_an_answer_whose_view_set_an_id_carries_the_requests_own_once(tmp_path, capsys):
    from flask import Response

    from license_server import create_app

    app = create_app(dict(LiveLicenseServer(tmp_path / "server").config))

    @app.get("/own-id")
    def own_id():
        return Response("", headers={"X-Request-Id": "the-views-own-id"})

    answer = app.test_client().get("/own-id")
    [request_id] = answer.headers.getlist("X-Request-Id")
    assert request_id != "the-views-own-id"
    [line] = [line for line in request_lines(capsys.readouterr().err) if "/own-id" in line]
    assert f"request_id={request_id}" in line



def test_the_request_lines_are_quietened_like_any_logger(tmp_path, capsys):
    """`rentdesk demo` runs a license server in the desktop user's terminal and quietens its request lines."""
    from app.launcher import quiet_request_log

    loggers = [logging.getLogger(name) for name in ("werkzeug", "license_server.requests")]
    levels = [logger.level for logger in loggers]
    with LiveLicenseServer(tmp_path / "server") as server:
        try:
            quiet_request_log(False)
            capsys.readouterr()
            httpx.get(server.url + "/api/v1/health")
            assert request_lines(capsys.readouterr().err) == []
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)
        httpx.get(server.url + "/api/v1/health")
        assert len(request_lines(capsys.readouterr().err)) == 1
