"""The `rentdesk` command of DESIGN §6, run as the installed console script: version, help, serve."""

from __future__ import annotations

import re

import httpx

from app.instance import INFO_FILE

from .helpers import make_store, open_session, rentdesk, run_to_end


def test_version_prints_the_package_version():
    done = run_to_end("--version")
    assert done.returncode == 0
    assert re.fullmatch(r"rentdesk \d+\.\d+\.\d+\S*\n", done.stdout)


def test_help_names_every_command_of_design_section_6():
    done = run_to_end("--help")
    assert done.returncode == 0
    for command in ("--browser", "serve --port N", "demo", "--version", "RENTDESK_HOME"):
        assert command in done.stdout


def test_serve_prints_only_the_launch_url_and_healthz_answers_ok_without_a_secret(tmp_path):
    with rentdesk("serve", "--home", str(tmp_path)) as app:
        url = app.launch_url()
        assert app.stdout == [url + "\n"]
        base = url.split("/launch", 1)[0]
        answer = httpx.get(base + "/healthz")
        assert (answer.status_code, answer.text) == (200, "ok")
        assert app.stop() == 0


def test_the_launch_url_leads_to_the_unlock_page_of_an_existing_store(tmp_path):
    make_store(tmp_path)
    with rentdesk("serve", "--home", str(tmp_path)) as app:
        with open_session(app.launch_url()) as (client, page):
            assert page.status_code == 200
            assert page.url.path == "/unlock"
            assert 'name="passphrase"' in page.text
        assert app.stop() == 0


def test_a_page_asked_for_without_the_launch_cookie_is_refused(tmp_path):
    make_store(tmp_path)
    with rentdesk("serve", "--home", str(tmp_path)) as app:
        base = app.launch_url().split("/launch", 1)[0]
        assert httpx.get(base + "/unlock").status_code == 403
        app.stop()


def test_serve_on_a_chosen_port_listens_there(tmp_path):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with rentdesk("serve", "--port", str(port), "--home", str(tmp_path)) as app:
        assert app.launch_url().startswith(f"http://127.0.0.1:{port}/launch?secret=")
        app.stop()


def test_serve_refuses_a_port_out_of_range_and_says_which():
    done = run_to_end("serve", "--port", "70000")
    assert done.returncode == 2
    assert "--port must be between 0 and 65535" in done.stderr


def test_sigterm_stops_serve_in_order_and_frees_the_data_folder(tmp_path):
    with rentdesk("serve", "--home", str(tmp_path)) as first:
        first.launch_url()
        assert (tmp_path / INFO_FILE).exists()
        assert first.stop() == 0
    assert not (tmp_path / INFO_FILE).exists()
    with rentdesk("serve", "--home", str(tmp_path)) as again:
        assert again.launch_url()
        assert again.stop() == 0


def test_rentdesk_home_names_the_data_folder(tmp_path):
    from .helpers import clean_env

    with rentdesk("serve", env=clean_env(RENTDESK_HOME=str(tmp_path))) as app:
        app.launch_url()
        assert (tmp_path / INFO_FILE).exists()
        app.stop()


def test_a_change_made_in_the_app_is_on_disk_and_the_store_closed_after_sigterm(tmp_path):
    """Orderly shutdown: the queued op is durable and every store connection closed (SQLite then
    folds and removes its WAL file, which it leaves behind when a connection is still open)."""
    from app import services
    from app.paths import store_path

    from .helpers import csrf_of

    make_store(tmp_path, "correct horse battery")
    with rentdesk("serve", "--home", str(tmp_path)) as app:
        with open_session(app.launch_url()) as (client, unlock):
            client.post("/unlock", data={"csrf_token": csrf_of(unlock.text), "passphrase": "correct horse battery"})
            form = client.get("/accounts/new")
            made = client.post("/accounts/new", data={"csrf_token": csrf_of(form.text), "name": "Hotel du Lac",
                                                      "contact_email": "it@hotel-du-lac.example", "language": "en"})
            assert made.status_code == 200 and "Hotel du Lac" in made.text
            assert store_path(tmp_path).with_name("store.db-wal").exists()  # open while it runs
        assert app.stop() == 0
    assert not store_path(tmp_path).with_name("store.db-wal").exists()
    store = services.unlock(tmp_path, "correct horse battery")
    try:
        assert services.sync_status(store.unit_of_work()).queued == 1
    finally:
        store.close()
