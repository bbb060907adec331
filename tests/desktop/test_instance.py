"""One RentDesk per data folder: a second launch is refused or brings the first forward, and the
store is never opened twice."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import httpx
import pytest

from app.instance import INFO_FILE, SHOW_PATH, TOKEN_HEADER, AlreadyRunning, InstanceLock, read_info
from app.launcher import EXIT_ALREADY_RUNNING

from .helpers import (clean_env, launch_url_in, make_browser_recorder, make_store, open_session, opened_urls, rentdesk,
                      run_to_end, wait_until)


def test_a_second_lock_on_the_same_folder_is_refused_naming_the_running_process(tmp_path):
    with InstanceLock(tmp_path) as first:
        first.publish(port=4321, mode="window")
        with pytest.raises(AlreadyRunning) as refused:
            InstanceLock(tmp_path).acquire()
    assert refused.value.info["port"] == 4321
    assert str(tmp_path) in str(refused.value) and "127.0.0.1:4321" in str(refused.value)


def test_the_lock_is_free_again_once_released(tmp_path):
    InstanceLock(tmp_path).acquire().release()
    with InstanceLock(tmp_path) as again:
        assert again.held
    assert not (tmp_path / INFO_FILE).exists()


def test_a_lock_left_by_a_killed_process_does_not_block_the_next_start(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, app.instance as i; l = i.InstanceLock(sys.argv[1]).acquire(); "
         "l.publish(port=1, mode='serve'); print('held', flush=True); sys.stdin.read()", str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(AlreadyRunning):
        InstanceLock(tmp_path).acquire()
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    holder.stdin.close()
    holder.stdout.close()
    assert read_info(tmp_path)["port"] == 1  # the dead one's note is still there…
    with InstanceLock(tmp_path) as next_start:  # …but its lock went with it
        assert next_start.held


def test_the_instance_note_is_private_to_the_user(tmp_path):
    with InstanceLock(tmp_path) as lock:
        lock.publish(port=1, mode="serve")
        assert (tmp_path / INFO_FILE).stat().st_mode & 0o077 == 0


def test_a_second_serve_on_the_same_data_folder_is_refused_and_the_first_keeps_answering(tmp_path):
    make_store(tmp_path)
    with rentdesk("serve", "--home", str(tmp_path)) as first:
        url = first.launch_url()
        second = run_to_end("serve", "--home", str(tmp_path))
        assert second.returncode == EXIT_ALREADY_RUNNING
        assert "already running on the data folder" in second.stderr and str(tmp_path) in second.stderr
        assert second.stdout == ""  # it never served, so it never opened the store
        with open_session(url) as (client, page):
            assert page.url.path == "/unlock"
        assert first.stop() == 0


def test_a_second_browser_launch_brings_the_first_forward_instead_of_starting_again(tmp_path):
    browser, log = make_browser_recorder(tmp_path)
    env = clean_env(BROWSER=str(browser))
    home = tmp_path / "home"
    with rentdesk("--browser", "--home", str(home), env=env) as first:
        page = first.open_file_uri()
        assert wait_until(lambda: opened_urls(log)) == [page]
        url = launch_url_in(page)
        with open_session(url) as (_client, opened):  # the browser followed it: that secret is spent now
            assert opened.status_code == 200
        second = run_to_end("--browser", "--home", str(home), env=env)
        assert second.returncode == 0
        assert "already running" in second.stderr and "brought it to the front (browser)" in second.stderr
        assert opened_urls(log) == [page, page]  # the first opened its own page again
        again = launch_url_in(page)
        assert again != url  # with a fresh one-use secret, which works
        with open_session(again) as (_client, reopened):
            assert reopened.status_code == 200 and reopened.url.path in ("/first-run", "/unlock")
        assert first.stop() == 0


def test_asking_an_instance_to_show_itself_needs_the_token_from_its_private_note(tmp_path):
    with rentdesk("serve", "--home", str(tmp_path)) as app:
        app.launch_url()
        info = json.loads((tmp_path / INFO_FILE).read_text())
        show = f"http://127.0.0.1:{info['port']}{SHOW_PATH}"
        assert httpx.post(show).status_code == 403
        assert httpx.post(show, headers={TOKEN_HEADER: "guessed"}).status_code == 403
        assert httpx.post(show, headers={TOKEN_HEADER: "é".encode("latin-1")}).status_code == 403  # not a 500
        assert httpx.post(show, headers={TOKEN_HEADER: info["token"]}).json() == {"shown": ""}
        app.stop()
