"""First run and unlock: the passphrase opens the encrypted store; nothing else works before it.

The unlock and first-run pages need only app/store_base.py (issue 25): the store's machinery (SQLAlchemy,
SQLCipher, the services) is imported when a passphrase is tried, not before the window's first page.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from .. import paths, store_base as store_mod
from . import core, forms
from .labels import reason_text
from .pages import render
from .state import state

bp = Blueprint("auth", __name__)


def is_initialised() -> bool:
    """Whether this data folder already holds a store."""
    return store_mod.is_initialised(current_app.config["RENTDESK_HOME"])


def require_unlocked(view):
    """Views that read customer data need the open store; else go to unlock (or first run)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if state().store is None:
            target = url_for("auth.unlock" if is_initialised() else "auth.first_run")
            if request.headers.get("HX-Request") == "true":
                response = current_app.make_response(("", 204))
                response.headers["HX-Redirect"] = target
                return response
            return redirect(target)
        return view(*args, **kwargs)

    return wrapper


def _trusted_ring():
    """The keys trusted now: the bundle's, then the technician's own folder (read afresh: one may just be added)."""
    return store_mod.trusted_keyring(demo=bool(current_app.config["TRUST_DEMO_KEY"]),
                                     keys_dir=core.trusted_key_folders())


def _fingerprints():
    """Trusted key ids and fingerprints, for the technician to compare with the vendor's."""
    try:
        ring = _trusted_ring()
    except (OSError, ValueError):
        return []
    return [{"kid": kid, "fingerprint": ring.fingerprint(kid), "is_demo": kid == "demo"} for kid in ring.kids]


def keys_context(key_form=None, candidate=None, fingerprints=None) -> dict:
    """What the "Trusted signing keys" panel shows (first run and Settings): the keys (fingerprints, by default
    those the folders hold now), the technician's folder and the files in it that are not trusted (with why), the
    import form and a key waiting to be compared."""
    from ..trusted_keys import add_user_keys

    try:  # the bundle's keys first, as trusted_keyring reads them: a clash with one of them is named too
        shipped = store_mod.trusted_keyring(demo=bool(current_app.config["TRUST_DEMO_KEY"]),
                                            keys_dir=current_app.config["KEYS_DIR"])
        skipped = add_user_keys(shipped, current_app.config["USER_KEYS_DIR"])
    except (OSError, ValueError):
        skipped = []
    return {"fingerprints": _fingerprints() if fingerprints is None else fingerprints, "keys_folder": current_app.config["KEYS_DIR"],
            "user_keys_folder": current_app.config["USER_KEYS_DIR"], "skipped_keys": skipped,
            "key_form": key_form or forms.Form(), "candidate": candidate}


def check_server(url: str, token: str):
    """The server and token checked as given (who is connected, or what failed), before anything is stored."""
    from ..transport import check_connection

    try:
        ring = _trusted_ring()
    except (OSError, ValueError):
        from rental.signing import Keyring

        ring = Keyring()
    return check_connection(url, token, ring)


def connection_problem(check, url: str) -> str:
    """What failed when the server and token were checked, in the technician's words and language."""
    if check.reason is not None:
        return reason_text(check.reason)
    if check.code == "unreachable":
        return _("No license server answers at %(url)s: check the address and that this laptop is online, or work "
                 "offline for now.", url=url)
    if check.code == "not-a-server":
        return _("%(url)s answers, but not as a RentDesk license server: check the address.", url=url)
    if check.code == "token-unknown":
        return _("The license server at %(url)s does not know this token: paste it again exactly as your partner "
                 "administrator gave it.", url=url)
    if check.code == "token-revoked":
        return _("The vendor revoked this token: it no longer works. Ask your vendor for a new token and paste it "
                 "here.")
    if check.code == "token-expired":
        return _("This token has expired. Ask your vendor for a new token and paste it here.")
    if check.code == "untrusted-key":
        return _("The license server signs its answers with the key %(kid)s, which this RentDesk does not trust: "
                 "ask your vendor for %(kid)s.pub, import it under “Trusted signing keys” below after comparing "
                 "its fingerprint, then connect again.", kid=check.detail)
    return _("The license server refused the connection: %(detail)s", detail=check.detail or "")


@bp.route("/first-run", methods=["GET", "POST"])
def first_run():
    """Choose a passphrase, then the license server and token, or work offline for now."""

    if is_initialised():
        return redirect(url_for("auth.unlock"))
    form = forms.Form(values={"server_url": current_app.config.get("SERVER_URL") or ""})
    if request.method == "POST":
        f = request.form
        passphrase = f.get("passphrase", "")
        offline = f.get("mode") == "offline"
        form.values = {"server_url": forms.text(f, "server_url"), "token": forms.text(f, "token")}
        if len(passphrase) < store_mod.MIN_PASSPHRASE:
            form.error("passphrase", _("The passphrase must have at least %(n)d characters: it protects customer data on a laptop that may be lost.", n=store_mod.MIN_PASSPHRASE))
        elif passphrase != f.get("confirm", ""):
            form.error("confirm", _("The two passphrases differ: type the same passphrase twice."))
        url = token = None
        if not offline:
            url, problem = forms.server_url(form.values["server_url"])
            if problem:
                form.error("server_url", problem)
            token = form.values["token"]
            if not token:
                form.error("token", _("Paste the technician token your partner administrator gave you, or choose “Work offline for now”."))
        connected = None
        if form.ok and not offline:
            connected = check_server(url, token)
            if not connected.ok:
                form.error(connected.field, connection_problem(connected, url))
        if form.ok:
            try:
                opened = core.initialise(passphrase, server_url=url, token=token)
            except store_mod.StoreError as error:
                form.error("passphrase", reason_text(error))
            else:
                state().open(opened, current_app._get_current_object())
                if connected is not None:
                    flash(_("Connected as %(technician)s, %(partner)s.", technician=connected.technician,
                            partner=connected.partner))
                return redirect(url_for("accounts.index"))
    return render("first_run.html", form=form, restore_form=forms.Form(), strength=forms.passphrase_strength(""),
                  **keys_context())


@bp.post("/first-run/restore")
def restore():
    """First run from a backup: restore it into the empty data folder, then open it with its passphrase."""

    if is_initialised():
        return redirect(url_for("auth.unlock"))
    form = forms.Form(values={"backup_path": forms.text(request.form, "backup_path")})
    if not form.values["backup_path"]:
        form.error("backup_path", _("Type the path of the backup file (it ends in .rentdesk-backup)."))
    else:
        try:
            opened = core.restore(form.values["backup_path"], request.form.get("backup_passphrase", ""))
        except store_mod.WrongPassphrase:
            form.error("backup_passphrase", _("Wrong passphrase for this backup: nothing was restored. Type the passphrase the backup was made with."))
        except store_mod.BackupDamaged:  # issue 23: a damaged or crafted file is said so, never a crash
            form.error("backup_path", _("This backup is damaged: RentDesk cannot read it. Choose another backup "
                                        "file; nothing was restored."))
        except store_mod.StoreError as error:
            form.error("backup_path", _("This backup could not be restored: %(reason)s", reason=reason_text(error)))
        except OSError as error:  # the system's own words for it, quoted
            form.error("backup_path", _("This backup could not be restored: %(reason)s", reason=error.strerror or str(error)))
        else:
            state().open(opened, current_app._get_current_object())
            return redirect(url_for("accounts.index"))
    return render("first_run.html", form=forms.Form(values={"server_url": current_app.config.get("SERVER_URL") or ""}),
                  restore_form=form, strength=forms.passphrase_strength(""), **keys_context())


def _first_run_with_keys(key_form=None, candidate=None):
    """The first-run screen, its key panel showing an import's problem or the key to compare (status 200)."""
    return render("first_run.html", form=forms.Form(values={"server_url": current_app.config.get("SERVER_URL") or ""}),
                  restore_form=forms.Form(), strength=forms.passphrase_strength(""),
                  **keys_context(key_form, candidate))


def read_key_upload(ring) -> tuple:
    """Step 1 of importing a vendor's key (first run and Settings): the key file the form sent (field key_file),
    read no further than a key file may be, and checked: (the KeyFile to compare, whether this very key is trusted
    in ring already). A RuleViolation says what is wrong with the file."""
    from ..trusted_keys import MAX_KEY_FILE, already_trusted, read_key_file

    upload = request.files.get("key_file")
    data = upload.stream.read(MAX_KEY_FILE + 1) if upload else b""
    size = upload.stream.seek(0, 2) if len(data) > MAX_KEY_FILE else len(data)  # the file's own size
    key = read_key_file(upload.filename if upload else "", data, size=size)
    return key, already_trusted(key, ring)


def trust_key_from_form(ring) -> tuple:
    """Step 2 (first run and Settings): the key the compare step showed (its hidden fields), once the technician
    said the fingerprints match, written in their own folder unless this very key is trusted in ring already:
    (the KeyFile, the file written or None). A RuleViolation when it is not the key shown, or cannot be written."""
    from ..trusted_keys import KeyFile, already_trusted, save_key

    f = request.form
    key = KeyFile(kid=f.get("kid", ""), pem=f.get("pem", ""), fingerprint=f.get("fingerprint", ""))
    if already_trusted(key, ring):
        return key, None
    return key, save_key(current_app.config["USER_KEYS_DIR"], key, key.fingerprint)


def already_trusted_said(kid: str, category: str = "message") -> None:
    flash(_("The key %(kid)s is already trusted, with this same fingerprint: nothing to do.", kid=kid), category)


def now_trusted_said(kid: str, category: str = "message") -> None:
    flash(_("The key %(kid)s is now trusted: RentDesk believes the answers and activation keys it signs.", kid=kid),
          category)


@bp.post("/first-run/keys")
def read_vendor_key():
    """Step 1 of "Import the vendor's key file": read and check it, then show its fingerprint to compare."""
    from rental.errors import RuleViolation

    if is_initialised():
        return redirect(url_for("auth.unlock"))
    try:
        key, trusted = read_key_upload(_trusted_ring())
    except RuleViolation as refused:
        return _first_run_with_keys(key_form=forms.Form.refused("key_file", refused))
    if trusted:
        already_trusted_said(key.kid)
        return redirect(url_for("auth.first_run") + "#trusted-keys")
    return _first_run_with_keys(candidate=key)


@bp.post("/first-run/keys/trust")
def trust_vendor_key():
    """Step 2: the technician compared the fingerprint and trusts the key: saved in their own folder."""
    from rental.errors import RuleViolation

    if is_initialised():
        return redirect(url_for("auth.unlock"))
    try:
        key, _saved = trust_key_from_form(_trusted_ring())
    except RuleViolation as refused:
        return _first_run_with_keys(key_form=forms.Form.refused("key_file", refused))
    now_trusted_said(key.kid)
    return redirect(url_for("auth.first_run") + "#trusted-keys")


@bp.post("/first-run/strength")
def strength():
    """Inline hint while the passphrase is typed (htmx)."""

    return render("partials/strength.html", strength=forms.passphrase_strength(request.form.get("passphrase", "")))


@bp.route("/unlock", methods=["GET", "POST"])
def unlock():
    """Open the store; a wrong passphrase says so, and repeated failures must wait (server side)."""

    if not is_initialised():
        return redirect(url_for("auth.first_run"))
    st = state()
    if st.store is not None:
        return redirect(url_for("accounts.index"))
    error = None
    now = st.clock.now()
    wait = st.throttle.wait_s(now)
    if request.method == "POST":
        passphrase = request.form.get("passphrase", "")
        if not passphrase:  # a slip of the Enter key is no guess: not counted, nothing derived (issue 23)
            error = _("Type your passphrase, then press Unlock.")
        elif wait:
            error = ngettext("Too many wrong passphrases: wait %(num)d second, then try again.",
                             "Too many wrong passphrases: wait %(num)d seconds, then try again.", wait)
        else:
            try:
                opened = core.unlock(passphrase)
            except store_mod.WrongPassphrase:
                st.throttle.failed(now)
                wait = st.throttle.wait_s(now)
                error = _("Wrong passphrase: the store did not open. Check it (it is case-sensitive) and try again.")
                if wait:
                    error += " " + ngettext("After several wrong attempts, wait %(num)d second before the next one.",
                                            "After several wrong attempts, wait %(num)d seconds before the next one.", wait)
            except store_mod.HeaderDamaged:  # issue 23: bounded before any key derivation, said in the UI's language
                error = _("The store's header file (%(file)s) is damaged: RentDesk cannot open the store with it. "
                          "Restore your data from a backup; nothing was changed.", file=paths.HEADER_FILE)
            except store_mod.StoreError as problem:
                error = reason_text(problem)
            else:
                st.open(opened, current_app._get_current_object())
                return redirect(url_for("accounts.index"))
    return render("unlock.html", error=error, wait=wait, home=current_app.config["RENTDESK_HOME"])


@bp.post("/lock")
def lock():
    """Close the store: the next request needs the passphrase again."""
    state().close()
    return redirect(url_for("auth.unlock"))
