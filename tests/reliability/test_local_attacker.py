"""A local attacker against the desktop app (issue 14, items 1-3): another program that saw the launch URL,
another local user reading the data folder, and a guesser who restarts RentDesk for fresh attempts.

Real processes: `rentdesk serve` and `rentdesk --browser` started as the technician would (under umask 022),
real SQLCipher files, HTTP on 127.0.0.1; a browser stand-in records the command line it was started with.
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
import stat
import threading
from pathlib import Path

import httpx

from app import create_app, services
from app.clock import MovableClock
from app.web.security import csrf_token
from tests.desktop.helpers import (RENTDESK, Running, clean_env, csrf_of, make_browser_recorder, open_session,
                                   opened_urls, wait_until)
from tests.support.license_server import LiveLicenseServer

PASSPHRASE = "correct horse battery"
OPEN_FILE = "rentdesk-open.html"  # app.launcher.OPEN_FILE (kept literal: the test must run against older code too)
FAST_KDF = {"name": "scrypt", "n": 2**10, "r": 8, "p": 1}
LAUNCH = re.compile(r"http://127\.0\.0\.1:(\d+)/launch\?secret=[^\s\"'<>&]+")


def under_umask_022(*args: str, env: dict | None = None) -> Running:
    """rentdesk as a technician starts it on a usual system: umask 022 (files 0644, folders 0755 by default)."""
    return Running(["sh", "-c", 'umask 022 && exec "$0" "$@"', str(RENTDESK), *args], env=env or clean_env())


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def launch_refused(home: Path) -> str:
    """`rentdesk serve` on home: refused (exit 4) with nothing written there; what it said."""
    before = sorted(p.name for p in home.rglob("*"))
    with under_umask_022("serve", "--home", str(home)) as app:
        assert app.finish() == 4, app.output()
    assert sorted(p.name for p in home.rglob("*")) == before  # nothing written
    return "".join(app.stderr)


def their_key_pair(folder: Path, kid: str) -> tuple[Path, Path]:
    """Another user's key pair, made in folder, its public half readable by them (to plant it)."""
    from rental.signing import write_key_pair

    private, public = write_key_pair(kid, folder)
    folder.chmod(0o755)
    public.chmod(0o644)
    return private, public


# ------------------------------------------------------------------ item 1: the launch secret works once


def test_the_launch_url_works_once_and_a_second_program_gets_only_a_page_saying_to_start_again(tmp_path):
    with under_umask_022("serve", "--home", str(tmp_path / "home")) as app:
        url = app.launch_url()
        with open_session(url) as (window, first):
            assert first.url.path == "/first-run"  # the technician's window is in
            with httpx.Client(follow_redirects=True, timeout=30) as attacker:
                second = attacker.get(url)
                assert second.status_code == 403
                assert "This RentDesk link was already used" in second.text
                assert not attacker.cookies, "the spent secret still gave a cookie"
                assert attacker.get(url.split("/launch")[0] + "/first-run").status_code == 403
            # the window reloading its first address is no attack: it holds the cookie already
            assert window.get(url).url.path == "/first-run"
        assert app.stop() == 0


def test_the_cookie_cannot_be_computed_from_the_launch_secret(tmp_path):
    """The cookie derives from a key that never leaves the process: a seen secret gives no cookie."""
    import hashlib
    import hmac

    with under_umask_022("serve", "--home", str(tmp_path / "home")) as app:
        url = app.launch_url()
        secret = url.split("secret=", 1)[1]
        port = url.split(":")[2].split("/")[0]
        with open_session(url) as (window, _first):
            real = window.cookies[f"rentdesk_{port}"]
        guessed = hmac.new(secret.encode(), b"rentdesk/launch-cookie", hashlib.sha256).hexdigest()
        assert guessed != real
        with httpx.Client(cookies={f"rentdesk_{port}": guessed}, timeout=30) as attacker:
            assert attacker.get(url.split("/launch")[0] + "/first-run").status_code == 403
        assert app.stop() == 0


def test_browser_mode_opens_a_private_redirect_file_never_the_secret_on_a_command_line(tmp_path):
    browser, log = make_browser_recorder(tmp_path)
    home = tmp_path / "home"
    with under_umask_022("--browser", "--home", str(home), env=clean_env(BROWSER=str(browser))) as app:
        [opened] = wait_until(lambda: opened_urls(log))  # the browser's whole command line argument
        assert "secret" not in opened and opened == (home / OPEN_FILE).resolve().as_uri()
        page = home / OPEN_FILE
        assert mode_of(page) == 0o600 and mode_of(home) == 0o700
        printed = app.wait_for_line(r"file://\S+").group(0)
        assert printed == opened and not any("secret=" in line for line in app.stdout)
        url = LAUNCH.search(page.read_text(encoding="utf-8")).group(0)
        with open_session(url) as (_window, first):
            assert first.url.path == "/first-run"
        assert app.stop() == 0
    assert not page.exists(), "the redirect file outlived the launch"


# ------------------------------------------------------------------ the launch cookie in another user's hands


#: Another user of the laptop replays the technician's launch cookie: read the accounts list, then queue an account.
REPLAY = """
import re, sys, urllib.error, urllib.parse, urllib.request
base, cookie, csrf = sys.argv[1:4]
class Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
def call(path, data=None):
    request = urllib.request.Request(base + path, data=data, headers={"Cookie": cookie})
    try:
        with urllib.request.build_opener(Stay).open(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()
print(call("/accounts/")[0])
print(call("/accounts/new", urllib.parse.urlencode({"name": "Planted", "contact_email": "x@evil.example",
                                                    "language": "en", "csrf_token": csrf}).encode())[0])
"""


def test_the_launch_cookie_replayed_by_another_local_user_opens_nothing(tmp_path):
    """A browser sends the launch cookie to every server on 127.0.0.1, whatever its port (cookies ignore ports):
    another user's server there collects it. Replayed from that user's own program, with the CSRF token of a page
    as well, it reads nothing and queues nothing (DESIGN §6), while the technician's window works on."""
    from tests.support.local_user import local_user

    attacker = local_user()
    home = tmp_path / "home"
    with under_umask_022("serve", "--home", str(home)) as app:
        url = app.launch_url()
        base, port = url.split("/launch")[0], url.split(":")[2].split("/")[0]
        with open_session(url) as (window, first):
            csrf = csrf_of(first.text)
            assert window.post("/first-run", data={"passphrase": PASSPHRASE, "confirm": PASSPHRASE,
                                                   "mode": "offline", "csrf_token": csrf}).url.path == "/accounts/"
            cookie = f"rentdesk_{port}={window.cookies[f'rentdesk_{port}']}"
            replayed = attacker.run(str(Path(RENTDESK).parent / "python"), "-c", REPLAY, base, cookie, csrf)
            assert replayed.returncode == 0, replayed.stderr
            assert replayed.stdout.split() == ["403", "403"]
            listed = window.get("/accounts/")
            assert listed.status_code == 200 and "Planted" not in listed.text
        assert app.stop() == 0


def test_a_data_folder_another_user_made_beforehand_is_refused_and_nothing_in_it_is_trusted(tmp_path):
    """RENTDESK_HOME in a shared place (/tmp/rentdesk): another user made the folder first, open to all, with their
    own signing key in its keys/. RentDesk used it, trusted that key, and kept the store where its owner could swap
    files. Now it says whose the folder is and what to do, and writes nothing there."""
    from tests.support.local_user import local_user, shared_folder

    attacker, shared = local_user(), shared_folder()
    home = shared / "rentdesk"
    _private, public = their_key_pair(shared / "theirs", "vendor-2027")
    prepared = attacker.run("sh", "-c", f'mkdir -m 777 "{home}" "{home}/keys" && cp "{public}" "{home}/keys/"')
    assert prepared.returncode == 0, prepared.stderr
    said = launch_refused(home)
    assert f"The data folder {home} belongs to another user of this computer ({attacker.name})" in said
    assert "Choose a folder of your own with --home or RENTDESK_HOME" in said
    assert sorted(p.name for p in home.rglob("*")) == ["keys", "vendor-2027.pub"]
    with under_umask_022("serve", "--home", str(tmp_path / "mine")) as app:  # a folder of one's own is used
        assert app.launch_url()
        assert app.stop() == 0


def test_a_folder_of_ours_that_other_users_may_write_in_is_refused_so_no_planted_link_is_followed(tmp_path):
    """RENTDESK_HOME names a folder of the technician's that holds other files (so RentDesk leaves its mode alone)
    and that other users may write in (0777, a team folder). Another user planted there, beforehand, a link named
    like the instance note's temporary file, pointing at a file of the technician's, and a key file in keys/. The
    launch wrote its note through the link: the technician's file was overwritten. Now RentDesk refuses the folder
    (exit 4), says why and what to do, and writes nothing there nor through the link."""
    from tests.support.local_user import local_user, shared_folder

    attacker = local_user()
    place = shared_folder()  # where the attacker can reach the team folder (pytest's own is private)
    place.chmod(0o755)
    team, victim = place / "team", place / "victim.txt"
    team.mkdir()
    team.chmod(0o777)
    (team / "notes.txt").write_text("the team's notes\n")
    victim.write_text("precious\n")
    victim.chmod(0o600)
    _private, public = their_key_pair(place / "theirs", "vendor-2099")
    planted = attacker.run("sh", "-c", f'ln -s "{victim}" "{team}/rentdesk.instance.json.tmp" && '
                                       f'mkdir "{team}/keys" && cp "{public}" "{team}/keys/"')
    assert planted.returncode == 0, planted.stderr
    said = launch_refused(team)
    assert f"Other users of this computer may write in the data folder {team} (its permissions are 0777)" in said
    assert "Choose a folder of your own with --home or RENTDESK_HOME, or make this one yours alone" in said
    assert victim.read_text() == "precious\n"  # nothing written through the planted link
    assert mode_of(team) == 0o777  # a folder holding other files is not RentDesk's to change
    shutil.rmtree(place)


def test_a_folder_of_ours_only_our_own_group_may_write_in_is_used(tmp_path):
    """Debian's user private groups (umask 002): a folder writable by the user's own group, which holds nobody
    else, is theirs alone; RentDesk uses it (and a folder others may only read is used as before)."""
    import grp
    import pwd

    me = pwd.getpwuid(os.geteuid())
    own = grp.getgrgid(me.pw_gid)
    assert own.gr_name == me.pw_name and set(own.gr_mem) <= {me.pw_name}, "this test needs a user private group"
    for mode in (0o775, 0o755):
        team = tmp_path / f"team-{mode:o}"
        team.mkdir()
        team.chmod(mode)
        (team / "notes.txt").write_text("notes\n")
        with under_umask_022("serve", "--home", str(team)) as app:
            assert app.launch_url()
            assert app.stop() == 0


def test_a_folder_of_ours_another_group_may_write_in_is_refused(tmp_path):
    """Group-writable for a group of other users (a team's group) is as open as world-writable."""
    from tests.support.local_user import local_user

    team = tmp_path / "team"
    team.mkdir()
    (team / "notes.txt").write_text("notes\n")
    os.chown(team, -1, local_user().gid)
    team.chmod(0o770)
    assert "(its permissions are 0770)" in launch_refused(team)


def _signed_by(private_key: Path, kid: str) -> dict:
    from rental.signing import SigningKey

    return SigningKey.from_pem(kid, private_key.read_bytes()).sign_envelope("pricelist", {"type": "pricelist"})


def test_a_key_planted_in_a_keys_folder_other_users_may_write_in_is_not_trusted(tmp_path):
    """The technician's own keys folder (~/.config/RentDesk/keys when no data folder is chosen) is open to others
    (0777; a team's group would do too): another user drops their vendor-2099.pub there. It was trusted, so what
    they sign (activation keys, server answers) looked genuine offline. Now no key of such a folder is trusted,
    and the first-run screen says why and what to do."""
    from rental.errors import SignatureError
    from tests.support.local_user import local_user, shared_folder

    attacker = local_user()
    place = shared_folder()
    place.chmod(0o755)
    keys = place / "config" / "RentDesk" / "keys"
    keys.mkdir(parents=True)
    keys.chmod(0o777)
    theirs, public = their_key_pair(place / "theirs", "vendor-2099")
    planted = attacker.run("cp", str(public), str(keys / "vendor-2099.pub"))
    assert planted.returncode == 0, planted.stderr
    bundle = tmp_path / "bundle-keys"
    bundle.mkdir()
    try:
        store = services.initialise(tmp_path / "home", PASSPHRASE, kdf=FAST_KDF, keys_dir=(bundle, keys))
        try:
            assert "vendor-2099" not in store.keyring.kids
            try:
                store.keyring.verify_envelope(_signed_by(theirs, "vendor-2099"))
                raise AssertionError("an answer signed by the planted key was believed")
            except SignatureError:
                pass
        finally:
            store.close()
        app = create_app({"RENTDESK_HOME": str(tmp_path / "other-home"), "TESTING": True, "KEYS_DIR": str(bundle),
                          "USER_KEYS_DIR": str(keys), "BACKGROUND_SYNC": False, "STORE_KDF": FAST_KDF})
        try:
            client = app.test_client()
            assert client.get("/launch?secret=" + app.config["LAUNCH_SECRET"]).status_code == 302
            page = " ".join(re.sub(r"<[^>]+>", " ", client.get("/first-run").data.decode()).split())
            assert (f"vendor-2099.pub in your keys folder is not trusted: Another user of this computer owns or may "
                    f"write in {keys} (permissions 0777): no key there is trusted") in page.replace("&#39;", "'")
            assert "Make the folder yours alone (chmod 700)" in page
        finally:
            app.extensions["rentdesk.shutdown"]()
    finally:
        shutil.rmtree(place)


def test_a_key_file_other_users_may_change_is_not_trusted_and_one_of_ours_is(tmp_path):
    """A keys folder others may enter (0755) holding a key file they may write (0666): its owner's key today,
    whatever another user writes into it tomorrow. Not trusted; the same file made 0644 is."""
    from app.trusted_keys import add_user_keys
    from rental.signing import Keyring, write_key_pair

    keys = tmp_path / "keys"
    keys.mkdir()
    keys.chmod(0o755)
    _private, public = write_key_pair("vendor-2026", tmp_path / "vendor")
    key_file = keys / "vendor-2026.pub"
    key_file.write_bytes(public.read_bytes())
    key_file.chmod(0o666)
    ring = Keyring()
    skipped = add_user_keys(ring, keys)
    assert "vendor-2026" not in ring.kids
    assert [(name, refusal.code, refusal.params["mode"]) for name, refusal in skipped] == [
        ("vendor-2026.pub", "key-file-open", "0666")]
    key_file.chmod(0o644)
    ring = Keyring()
    assert add_user_keys(ring, keys) == [] and "vendor-2026" in ring.kids


# ------------------------------------------------------------------ item 1: a new server forgets the token


class Listener(http.server.ThreadingHTTPServer):
    """An attacker's listener on 127.0.0.1: it notes every Authorization header it is sent."""

    def __init__(self):
        seen: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                seen.append(self.headers.get("Authorization") or "")
                self.send_response(404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"error": "not-found", "message": "nothing here"}')

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.seen = seen
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.shutdown()
        self.server_close()


def test_changing_the_server_url_forgets_the_token_so_sync_sends_it_nowhere_else(tmp_path):
    clock = MovableClock(1_800_000_000)
    app = create_app({"RENTDESK_HOME": str(tmp_path / "home"), "TESTING": True, "TRUST_DEMO_KEY": True,
                      "CLOCK": clock, "BACKGROUND_SYNC": False, "STORE_KDF": FAST_KDF})
    server, listener = LiveLicenseServer(tmp_path / "ls").start(), Listener()
    try:
        token = server.add_technician("Acme Telecom", "Ann")
        client = app.test_client()
        client.get("/launch?secret=" + app.config["LAUNCH_SECRET"])
        csrf = csrf_token(app)
        assert client.post("/first-run", data={"passphrase": PASSPHRASE, "confirm": PASSPHRASE, "mode": "online",
                                               "server_url": server.url, "token": token,
                                               "csrf_token": csrf}).status_code == 302
        assert "Sync complete" in client.post("/sync/run", data={"csrf_token": csrf}).data.decode()

        moved = client.post("/settings/server", data={"server_url": listener.url, "csrf_token": csrf},
                            follow_redirects=True).data.decode()
        page = client.post("/sync/run", data={"csrf_token": csrf}).data.decode()
        assert token not in "".join(listener.seen) and not any(listener.seen), listener.seen
        assert "Sync complete" not in page
        assert "the token of the previous server was forgotten" in moved  # and the technician is told why
        assert services.get_settings(app.extensions["rentdesk.web"].store.unit_of_work()).has_token is False

        # the control: typed again for the new server, the token goes there (so the listener would have seen it)
        client.post("/settings/server", data={"server_url": listener.url, "token": token, "csrf_token": csrf})
        client.post("/sync/run", data={"csrf_token": csrf})
        assert f"Bearer {token}" in listener.seen
    finally:
        listener.stop()
        server.stop()
        app.extensions["rentdesk.shutdown"]()


# ------------------------------------------------------------------ item 2: the data folder is private


def test_a_days_work_under_umask_022_leaves_the_data_folder_0700_and_every_file_0600(tmp_path):
    home, backups = tmp_path / "home", tmp_path / "backups"
    backups.mkdir()  # a backup goes into a folder that exists (issue 11: a typo creates nothing)
    with under_umask_022("serve", "--home", str(home)) as app:
        with open_session(app.launch_url()) as (client, first):
            client.post("/first-run", data={"csrf_token": csrf_of(first.text), "passphrase": PASSPHRASE,
                                             "confirm": PASSPHRASE, "mode": "offline"})
            form = client.get("/accounts/new")
            made = client.post("/accounts/new", data={"csrf_token": csrf_of(form.text), "name": "Hotel du Lac",
                                                      "contact_email": "it@lac.example", "language": "en"})
            assert made.status_code == 200 and "Hotel du Lac" in made.text
            settings = client.get("/settings/")
            client.post("/settings/backup", data={"csrf_token": csrf_of(settings.text),
                                                  "dest": str(backups / "monday")})
            files = sorted(p for p in home.iterdir() if p.is_file())
            names = {p.name for p in files}
            assert {"store.db", "store.db-wal", "store.db-shm", "store.header.json"} <= names, names
            wrong = {p.name: oct(mode_of(p)) for p in files if mode_of(p) != 0o600}
            assert not wrong, f"readable by others while running: {wrong}"
        assert app.stop() == 0
    assert mode_of(home) == 0o700
    wrong = {p.name: oct(mode_of(p)) for p in home.iterdir() if mode_of(p) != 0o600}
    assert not wrong, f"readable by others after exit: {wrong}"
    [backup] = backups.iterdir()
    assert mode_of(backup) == 0o600


def test_a_store_left_world_readable_by_an_older_version_is_tightened_at_unlock(tmp_path):
    home = tmp_path / "home"
    store = services.initialise(home, PASSPHRASE, kdf=FAST_KDF)
    store.close()
    os.chmod(home, 0o755)
    for path in home.iterdir():
        os.chmod(path, 0o644)
    services.unlock(home, PASSPHRASE).close()
    assert mode_of(home) == 0o700
    assert {p.name: mode_of(p) for p in home.iterdir()} == {p.name: 0o600 for p in home.iterdir()}


# ------------------------------------------------------------------ item 3: the throttle survives a restart


def _launch(home: Path, clock) -> tuple:
    app = create_app({"RENTDESK_HOME": str(home), "TESTING": True, "CLOCK": clock, "BACKGROUND_SYNC": False,
                      "STORE_KDF": FAST_KDF, "UNLOCK_FREE_ATTEMPTS": 2, "UNLOCK_DELAY_S": 60})
    client = app.test_client()
    client.get("/launch?secret=" + app.config["LAUNCH_SECRET"])
    return app, client, csrf_token(app)


def test_restarting_rentdesk_gives_no_fresh_passphrase_attempts(tmp_path):
    home, clock = tmp_path / "home", MovableClock(1_800_000_000)
    services.initialise(home, PASSPHRASE, kdf=FAST_KDF).close()
    app, client, csrf = _launch(home, clock)
    for _attempt in range(2):
        page = client.post("/unlock", data={"passphrase": "wrong guess!", "csrf_token": csrf}).data.decode()
    assert "wait 60 seconds" in page
    app.extensions["rentdesk.shutdown"]()

    again, client, csrf = _launch(home, clock)  # a restart: a new process state, the same data folder
    try:
        page = client.post("/unlock", data={"passphrase": PASSPHRASE, "csrf_token": csrf}).data.decode()
        assert "Too many wrong passphrases: wait 60 seconds" in page  # not even the right one is heard yet
        assert mode_of(home / "unlock-throttle.json") == 0o600
        clock.advance(60)
        opened = client.post("/unlock", data={"passphrase": PASSPHRASE, "csrf_token": csrf})
        assert opened.status_code == 302 and "/accounts" in opened.headers["Location"]
        assert not (home / "unlock-throttle.json").exists()  # a success starts afresh
    finally:
        again.extensions["rentdesk.shutdown"]()


def test_the_throttle_file_never_makes_the_wait_longer_than_the_longest_wait(tmp_path):
    """A clock set back after failures (or a tampered file) cannot lock the technician out for days."""
    home, clock = tmp_path / "home", MovableClock(1_800_000_000)
    services.initialise(home, PASSPHRASE, kdf=FAST_KDF).close()
    (home / "unlock-throttle.json").write_text('{"failures": 40, "not_before": 1900000000}')
    app, client, csrf = _launch(home, clock)
    try:
        page = client.post("/unlock", data={"passphrase": PASSPHRASE, "csrf_token": csrf}).data.decode()
        assert "wait 300 seconds" in page
    finally:
        app.extensions["rentdesk.shutdown"]()
