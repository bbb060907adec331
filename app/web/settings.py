"""Settings: license server and token, language, passphrase, encrypted backup, trusted signing keys, and about."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, request, url_for
from flask_babel import gettext as _

from .. import services
from . import core, forms
from .pages import redirect_to, render
from .auth import (already_trusted_said, keys_context, now_trusted_said, read_key_upload, require_unlocked,
                   trust_key_from_form)
from .i18n import LANGUAGES
from .labels import reason_text
from .state import state

bp = Blueprint("settings", __name__, url_prefix="/settings")
bp.before_request(require_unlocked(lambda: None))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rentdesk")
    except PackageNotFoundError:  # a frozen bundle without metadata
        return "unknown"


def _backup_destination(typed: str) -> tuple[str | None, str | None]:
    """The backup file a typed path names, or why it names none: a folder must exist (a typo never creates one)."""
    from pathlib import Path

    if not typed:
        return None, _("Type where to write the backup, e.g. %(path)s", path=_default_backup_path())
    path = Path(typed).expanduser()
    if not path.is_absolute():
        return None, _("Give the whole path, from the top folder: e.g. %(path)s", path=_default_backup_path())
    if path.is_dir():  # a folder chosen: the file gets the day's name in it
        return str(path / Path(_default_backup_path()).name), None
    if not path.parent.is_dir():
        return None, _("The folder %(folder)s does not exist: check the path, or choose one of the folders offered.",
                       folder=str(path.parent))
    return str(path), None


def backup_folders() -> list[str]:
    """Folders to offer for a backup: home, Documents, Desktop, and plugged-in drives (a USB stick)."""
    import getpass
    from pathlib import Path

    home = Path.home()
    found = [home, home / "Documents", home / "Desktop"]
    for media in (Path("/media") / getpass.getuser(), Path("/media"), Path("/run/media") / getpass.getuser(),
                  Path("/Volumes")):
        try:
            found += sorted(p for p in media.iterdir() if p.is_dir())
        except OSError:
            continue
    return [str(p) for p in dict.fromkeys(found) if p.is_dir()]


def _default_backup_path() -> str:
    """Where a backup goes unless told otherwise: the user's home folder, named by the day."""
    from datetime import datetime, timezone
    from pathlib import Path

    stamp = datetime.fromtimestamp(core.clock().now(), tz=timezone.utc).strftime("%Y-%m-%d")
    return str(Path.home() / f"rentdesk-{stamp}.rentdesk-backup")


def _page(server_form=None, password_form=None, backup_form=None, backup_done=None, key_form=None, candidate=None):
    return render("settings/index.html", parts={"token": "settings/_token.html"},
                  **_context(server_form, password_form, backup_form, backup_done),
                  **keys_context(key_form, candidate, services.trusted_key_fingerprints(core.store())))


def _context(server_form=None, password_form=None, backup_form=None, backup_done=None) -> dict:
    view = services.get_settings(core.uow())
    return dict(settings=view, status=services.sync_status(core.uow(), core.clock()),  # the token's state (issue 23)
                server_form=server_form or forms.Form(values={"server_url": view.server_url or ""}),
                password_form=password_form or forms.Form(),
                home=current_app.config["RENTDESK_HOME"], version=_version(),
                backup_form=backup_form or forms.Form(values={"dest": _default_backup_path()}),
                backup_done=backup_done, progress=state().backup_progress, backup_folders=backup_folders())


@bp.get("/")
def index():
    return _page()


@bp.post("/server")
def server():
    """Change the license server address and, when typed, the technician token."""
    form = forms.Form(values={"server_url": forms.text(request.form, "server_url")})
    url, problem = forms.server_url(form.values["server_url"])
    if problem:
        form.error("server_url", problem)
        return _page(server_form=form)
    token = forms.text(request.form, "token")
    changes = {"server_url": url}
    if token:
        changes["token"] = token
    try:
        before = services.get_settings(core.uow()).server_url
        after = services.set_settings(core.uow(), **changes)
    except services.InsecureServerUrl as error:
        form.error("server_url", reason_text(error.reason))
        return _page(server_form=form)
    if before and before != url and not after.has_token:
        flash(_("The server address changed, so the token of the previous server was forgotten: type the "
                "technician token for %(url)s.", url=url))
    else:
        flash(_("Server settings saved."))
    syncer = state().syncer
    if syncer is not None:  # a new server or token (issue 23: after a revoked one) is tried at once
        syncer.poke()
    return redirect_to(url_for("settings.index"))


@bp.post("/keys")
def read_vendor_key():
    """Step 1 of importing a vendor's key once RentDesk is set up (a vendor rotating to a new key, DESIGN §4/§6):
    read and check the file, then show its fingerprint to compare; nothing is trusted yet."""
    from rental.errors import RuleViolation

    try:
        key, trusted = read_key_upload(core.store().keyring)
    except RuleViolation as refused:
        return _page(key_form=forms.Form.refused("key_file", refused))
    if trusted:
        already_trusted_said(key.kid, "keys")  # said in the keys' panel, where the page opens
        return redirect_to(url_for("settings.index") + "#trusted-keys")
    return _page(candidate=key)


@bp.post("/keys/trust")
def trust_vendor_key():
    """Step 2: the technician compared the fingerprint and trusts the key: saved in their own folder and believed
    from now on, by the screens and the background sync alike (which tries again at once: an answer it refused for
    this key is asked for anew)."""
    from rental.errors import RuleViolation

    ring = core.store().keyring
    try:
        key, saved = trust_key_from_form(ring)
    except RuleViolation as refused:
        return _page(key_form=forms.Form.refused("key_file", refused))
    if saved is not None:
        ring.add(key.kid, saved.read_bytes())  # what is trusted is what was written, read back
    now_trusted_said(key.kid, "keys")
    syncer = state().syncer
    if syncer is not None:
        syncer.poke()
    return redirect_to(url_for("settings.index") + "#trusted-keys")


@bp.post("/language")
def language():
    """Choose the UI language (kept in the store; the system's language when none is chosen)."""
    code = request.form.get("language", "")
    services.set_settings(core.uow(), language=code if code in LANGUAGES else None)
    state().choose_language(code if code in LANGUAGES else None)
    return redirect_to(url_for("settings.index"))


@bp.post("/passphrase")
def passphrase():
    """Change the passphrase: the store is re-encrypted with the new one."""
    form = forms.Form()
    old, new, again = (request.form.get(k, "") for k in ("old", "new", "again"))
    if new != again:
        form.error("again", _("The two new passphrases differ: type the same one twice."))
    else:
        try:
            services.change_passphrase(core.store(), old, new)
        except services.WrongPassphrase:
            form.error("old", _("The current passphrase is wrong: the passphrase was not changed."))
        except services.WeakPassphrase:
            form.error("new", _("The passphrase must have at least %(n)d characters: it protects customer data on a laptop that may be lost.", n=8))
        else:
            flash(_("Passphrase changed: use the new one from now on."))
            return redirect_to(url_for("settings.index"))
    return _page(password_form=form)


@bp.post("/backup")
def backup():
    """Write an encrypted backup (it opens with the same passphrase); htmx shows progress meanwhile."""
    form = forms.Form(values={"dest": forms.text(request.form, "dest")})
    done = None
    progress = state().backup_progress
    dest, problem = _backup_destination(form.values["dest"])
    if problem:
        form.error("dest", problem)
    else:
        form.values["dest"] = dest
        progress.clear()
        progress.update(state="running", done=0, total=0)

        def step(done_pages: int, total_pages: int) -> None:
            progress.update(done=done_pages, total=total_pages)

        try:
            done = services.export_backup(core.store(), form.values["dest"], step)
        except services.StoreError as error:
            form.error("dest", _("The backup could not be written there: %(reason)s. Choose a folder you can write to.",
                                 reason=reason_text(error).rstrip(".")))
        except OSError as error:  # the system's own words for it, quoted
            form.error("dest", _("The backup could not be written there: %(reason)s. Choose a folder you can write to.",
                                 reason=error.strerror or str(error)))
        finally:
            progress["state"] = "done"
    return render("settings/index.html", "settings/_backup.html", **_context(backup_form=form, backup_done=done))


@bp.get("/backup/progress")
def backup_progress():
    """The backup's progress bar (polled while the export runs)."""
    return render("settings/_backup_progress.html", "settings/_backup_progress.html",
                       progress=state().backup_progress)
