"""What deploy/ ships, tried for real: the systemd units pass `systemd-analyze verify`, gunicorn runs with
deploy/gunicorn.conf.py, and the nginx example terminates TLS in front of a live server (docs/operating.md)."""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.license_server import DEMO_KEY, LiveLicenseServer, migrated_sqlite
from tests.support.postgres import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = ("license-server.service", "license-server-sweep.service", "license-server-sweep.timer")
VENV = Path(sys.executable).parent.parent


def installed_units(folder: Path) -> list[Path]:
    """The units as an operator installs them, with /opt/rentdesk/venv being this checkout's venv (verify checks
    that ExecStart's program exists and is executable)."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for name in UNITS:
        text = (DEPLOY / name).read_text().replace("/opt/rentdesk/venv", str(VENV)).replace("/opt/rentdesk", str(ROOT))
        (folder / name).write_text(text)
        made.append(folder / name)
    return made


def unit_settings(name: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in (DEPLOY / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_the_systemd_units_pass_systemd_analyze_verify(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing: install Debian's systemd (make debs)")
    done = subprocess.run(["systemd-analyze", "verify", *map(str, installed_units(tmp_path / "units"))],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # verify exits 0 on unknown keys and bad values, only saying so: any word about our units is a failure
    ours = [line for line in done.stderr.splitlines() if any(name in line for name in UNITS)]
    assert ours == []


def test_systemd_analyze_verify_catches_a_broken_unit(tmp_path):
    """The check above can fail: a misspelt key and a program that does not exist are reported."""
    [service, *_] = installed_units(tmp_path / "units")
    service.write_text(service.read_text().replace("KillMode=", "KilMode=").replace(str(VENV), "/nowhere"))
    done = subprocess.run(["systemd-analyze", "verify", str(service)], capture_output=True, text=True)
    assert done.returncode != 0
    assert "KilMode" in done.stderr and "/nowhere/bin/gunicorn" in done.stderr


def test_the_units_run_gunicorn_as_designed_and_the_timer_starts_the_sweep():
    server, sweep, timer = (unit_settings(name) for name in UNITS)
    [start] = server["ExecStart"]
    assert start.endswith('--config /opt/rentdesk/deploy/gunicorn.conf.py "license_server:create_app()"')
    assert sweep["ExecStart"] == ["/opt/rentdesk/venv/bin/license-server sweep"] and sweep["Type"] == ["oneshot"]
    assert timer["Unit"] == ["license-server-sweep.service"]
    # one metrics folder for the workers and the sweep: its figures show in the server's /metrics
    assert server["Environment"] == sweep["Environment"] == [
        "PROMETHEUS_MULTIPROC_DIR=/var/lib/license-server/metrics"]
    assert server["EnvironmentFile"] == sweep["EnvironmentFile"] == ["/etc/license-server/env"]
    assert server["User"] == sweep["User"] == ["license-server"]


def test_the_example_environment_file_names_only_settings_the_server_knows():
    from license_server.config import DEFAULTS, ENV_PREFIX

    known = set(DEFAULTS)
    names = [line.partition("=")[0] for line in (DEPLOY / "license-server.env").read_text().splitlines()
             if line and not line.startswith("#")]
    assert names and all(name.startswith(ENV_PREFIX) and name[len(ENV_PREFIX):] in known for name in names), names


def _wait_listening(port: int, proc: subprocess.Popen, what: str) -> None:
    """Until something accepts connections on port (or the process died): a readiness poll, not a delay."""
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not listen on {port} within 30 s") from None
            time.sleep(0.05)


def test_gunicorn_with_the_shipped_config_starts_its_metrics_afresh_and_logs_no_access_lines(tmp_path):
    url = migrated_sqlite(tmp_path / "server.sqlite3")
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "counter_4242.db").write_bytes(b"left by a process of an earlier start")  # unreadable if kept
    port = free_port()
    env = {**os.environ, "LICENSE_SERVER_DATABASE_URL": url, "LICENSE_SERVER_SIGNING_KEY_PATH": str(DEMO_KEY),
           "LICENSE_SERVER_INSTANCE_PATH": str(tmp_path), "LICENSE_SERVER_METRICS": "1",
           "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    log = open(tmp_path / "gunicorn.log", "wb")
    proc = subprocess.Popen([str(VENV / "bin" / "gunicorn"), "--config", str(DEPLOY / "gunicorn.conf.py"),
                             "-b", f"127.0.0.1:{port}", "-w", "2", "license_server:create_app()"],
                            env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_listening(port, proc, "gunicorn")
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(base + "/api/v1/ready", timeout=10).status_code == 200
        response = httpx.get(base + "/metrics", timeout=10)
        assert response.status_code == 200 and "license_server_requests_total" in response.text
        assert not (metrics / "counter_4242.db").exists()
        assert httpx.get(base + "/customer/a-customer-link-token", timeout=10).status_code == 404
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
        log.close()
    text = (tmp_path / "gunicorn.log").read_text()
    assert "route=/api/v1/ready status=200" in text  # the server's own request line
    assert "a-customer-link-token" not in text  # and no access log with paths


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def test_the_nginx_example_serves_the_api_over_tls_keeps_metrics_and_customer_tokens_in(tmp_path):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.fail("nginx is missing: install Debian's nginx-light (make debs)")
    cert, key = _self_signed(tmp_path)
    http_port, https_port = free_port(), free_port()
    with LiveLicenseServer(tmp_path / "server", config={"METRICS": True}) as server:
        site = (DEPLOY / "nginx-license-server.conf").read_text()
        site = re.sub(r"\n\s*listen \[::\]:\d+[^\n]*", "", site)  # no IPv6 needed here
        site = (site.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
                .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
                .replace("/etc/letsencrypt/live/licenses.example.com/fullchain.pem", str(cert))
                .replace("/etc/letsencrypt/live/licenses.example.com/privkey.pem", str(key))
                .replace("/var/log/nginx/license-server.access.log", str(tmp_path / "access.log"))
                .replace("server 127.0.0.1:8700;", f"server 127.0.0.1:{server.port};"))
        (tmp_path / "site.conf").write_text(site)
        (tmp_path / "nginx.conf").write_text(
            f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nworker_processes 1;\n"
            f"events {{ worker_connections 64; }}\nhttp {{ include {tmp_path}/site.conf; }}\n")
        base = [nginx, "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(tmp_path / "nginx.conf")]
        checked = subprocess.run([*base, "-t"], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        proc = subprocess.Popen([*base, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _wait_listening(https_port, proc, "nginx")
            token = server.add_technician()
            trusted = ssl.create_default_context(cafile=str(cert))
            with httpx.Client(base_url=f"https://localhost:{https_port}", verify=trusted, timeout=10) as tls:
                whoami = tls.get("/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
                assert whoami.status_code == 200  # the token went through, encrypted
                assert whoami.headers["Strict-Transport-Security"] == "max-age=63072000"
                assert re.fullmatch(r"[0-9a-f]{32}", whoami.headers["X-Request-Id"])  # nginx's id, kept
                assert tls.get("/metrics").status_code == 404  # not through the public name
                tls.get("/customer/Secret-Link-Token-0123456789")
                # the customer page's one stylesheet (R27, "phone-sized too") comes through the public name as well
                css = tls.get("/customer-assets/customer.css")
                assert (css.status_code, css.headers["Content-Type"].split(";")[0]) == (200, "text/css")
            assert httpx.get(f"{server.url}/metrics").status_code == 200  # but on the machine itself
            plain = httpx.get(f"http://127.0.0.1:{http_port}/api/v1/health")
            assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")
        finally:
            proc.send_signal(signal.SIGQUIT)
            proc.wait(20)
            proc.stderr.close()
    access = (tmp_path / "access.log").read_text()
    assert f"request_id={whoami.headers['X-Request-Id']}" in access
    assert "/customer/<token>" in access and "Secret-Link-Token" not in access
    assert token not in access


def test_the_database_url_of_the_example_is_one_the_server_accepts(tmp_path):
    """The example's PostgreSQL URL (a Unix socket, peer authentication) parses as the server's engine wants."""
    from license_server.db import make_engine

    line = next(line for line in (DEPLOY / "license-server.env").read_text().splitlines()
                if line.startswith("LICENSE_SERVER_DATABASE_URL="))
    engine = make_engine(line.partition("=")[2])
    assert engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
    engine.dispose()



def test_the_example_settings_file_reads_the_same_from_a_shell_as_the_units_read_it(tmp_path):
    """docs/operating.md runs commands with `set -a; . /etc/license-server/env`: the quoted sender survives."""
    script = (f'set -a; . "{DEPLOY / "license-server.env"}"; set +a; exec "{sys.executable}" -c '
              '"from license_server.config import load_settings; s = load_settings(); '
              'print(s.MAIL_FROM); print(s.METRICS, s.LOG_FORMAT, s.SMTP_PORT)"')
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, cwd=tmp_path,
                          env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["RentDesk <credit@example.com>", "True json 25"]
