"""Every refusal, warning and notice of the core as data: (rule, code, params) and one English template each.

Screens and mails translate a reason from its ``code`` (Babel extracts the templates marked N_);
``render`` gives the English wording the server puts in ``message``. Parameters follow a naming
convention that says how to show them: ``*_milli`` an amount in iSC, ``*_at`` a time (the screen's
formatter; the core reads no calendar), ``days`` a number of days with its noun ("1 day", "3 days": the
reader's plural forms, never "day(s)"),
a list is joined with commas, anything else as it is.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .units import format_milli


def N_(text: str) -> str:  # noqa: N802 - gettext's marker for extraction
    """Mark a template for extraction without translating it here (the core has no locale)."""
    return text


#: code → (rule, English template). A rule-specific code names its rule; a code used under several
#: rules (none yet) would take the rule from the caller.
CATALOG: dict[str, tuple[str, str]] = {
    # R1 firmware
    "firmware-invalid": ("bad-op", N_("{firmware} is not a firmware version: write it like 13r1, 13r2sr5 or 14r1.")),
    "firmware-too-old": ("R1", N_("Firmware {firmware} is older than 13r1, the first version that supports rental. "
                                  "Update the PBX to 13r1 or later, then put it in rental mode.")),
    # R2, R3 what may be rented
    "hardware-license": ("R2", N_("“{name}” ({ref}) is a hardware license: hardware licenses (01-00500-xxx) are bought, "
                                  "never rented. Remove it from the rental configuration.")),
    "third-party": ("R2", N_("“{name}” ({ref}) is partner or third-party software, which cannot be rented. License it "
                             "from its vendor and remove it from the rental configuration.")),
    "not-offered": ("R2", N_("“{name}” ({ref}) is not offered for rent. Remove it from the rental configuration.")),
    "maintenance-included": ("R3", N_("“{name}” ({ref}) is software maintenance, already included in the rent (a rental "
                                      "PBX may always run the newest firmware). Remove it: it is never billed.")),
    "item-unknown": ("not-found", N_("{ref} is not on price list {version}: check the reference, or sync to get "
                                     "the newest list.")),
    "quantity-invalid": ("bad-op", N_("The quantity of {ref} must be a whole number from 0 to {max}.")),
    "no-pricelist": ("not-found", N_("No price list is known yet: sync once while online (the vendor publishes "
                                     "it), then set licenses.")),
    # a price list as published (rental.pricing): the vendor's file, or an answer the app refuses
    "pricelist-not-object": ("bad-op", N_("A price list must be a JSON object with 'version' and 'items'.")),
    "pricelist-version": ("bad-op", N_("The price list needs a 'version': a non-empty text of at most 64 "
                                       "characters.")),
    "pricelist-published-at": ("bad-op", N_("'published_at' must be whole UTC seconds (an integer ≥ 0).")),
    "pricelist-items": ("bad-op", N_("The price list needs 'items': a non-empty list of items.")),
    "item-twice": ("bad-op", N_("Item #{index} ({ref}) appears twice: each reference once.")),
    "item-not-object": ("bad-op", N_("Item #{index} must be an object with ref, name, category, monthly_milli.")),
    "item-ref": ("bad-op", N_("Item #{index} has no valid 'ref' (letters, digits, '-', '.', up to 40 characters).")),
    "item-needs": ("bad-op", N_("Item #{index} ({ref}) needs a '{key}'.")),
    "item-price-float": ("bad-op", N_("Item #{index} ({ref}): 'monthly_milli' is a float; prices are whole milli-iSC "
                                      "(e.g. 1234 for 1.234 iSC).")),
    "item-price": ("bad-op", N_("Item #{index} ({ref}): 'monthly_milli' must be a whole number of milli-iSC ≥ 0.")),
    "item-rentable": ("bad-op", N_("Item #{index} ({ref}): 'rentable' must be true or false.")),
    "item-note": ("bad-op", N_("Item #{index} ({ref}): 'note' must be text.")),
    "pricelist-unreadable": ("bad-op", N_("Cannot read the price list {path}: {detail}")),
    "pricelist-published-before": ("bad-op", N_("Price list version {version} was published before: give the new "
                                                "list a new version.")),
    "pricelist-refused": ("sync", N_("Price list refused: {detail}")),
    "pricelist-older": ("sync", N_("Price list {version} refused: it is older than {held}, held here.")),
    "terms-older": ("sync", N_("Rental terms {version} refused: they are older than {held}, held here.")),
    "snapshot-older": ("sync", N_("Account snapshot refused: revision {revision} (as of {snapshot_at}) is older than "
                                  "revision {held_revision} (as of {held_at}) held here; an old answer was replayed "
                                  "or delayed, so the newer one is kept.")),
    # a revision-conflict as the laptop words it (issue 21): the PBX by the name it holds, what the other change did
    "pbx-changed-meanwhile": ("conflict", N_("{pbx} was changed meanwhile by another change ({changes}); yours was "
                                             "made before it: review it against what is there now, then re-apply "
                                             "or discard it.")),
    "pbx-changed-meanwhile-unseen": ("conflict", N_("{pbx} was changed meanwhile by another change; yours was made "
                                                    "before it: sync, review it against what is there now, then "
                                                    "re-apply or discard it.")),
    "account-list-malformed": ("sync", N_("The account list the server sent is not what DESIGN §5 describes: "
                                          "refused.")),
    "pricelist-newer": ("R23", N_("Price list {version} is newer than {account_version}, the one this account runs "
                                  "at. Its prices apply from the account's next connection event (a license "
                                  "change, a new PBX, loading iSC or an automatic reload); until then the old "
                                  "prices stay valid.")),
    "op-still-queued": ("bad-op", N_("This change is still queued: it has no server answer to resolve yet.")),
    # R6 continuous running
    "toggle-warning": ("R6", N_("Raising {refs} again soon after reducing it counts as reduce-then-restore: rented "
                                "licenses must run continuously, and repeated occurrences are refused.")),
    "toggle-refused": ("R6", N_("Raising {refs} again so soon after reducing it would be reduce-then-restore number "
                                "{count} in the period: rented licenses must run continuously. Keep the "
                                "configuration steady; size it for the regular need instead of switching it.")),
    # R7 platform
    "platform-refused": ("R7", N_("Platform {platform} cannot run rented licenses: use VMware or Hyper-V "
                                  "virtualisation, dedicated vendor hardware, or the vendor's cloud (with a cloud "
                                  "contract).")),
    "cloud-needs-contract": ("R7", N_("A cloud installation needs a cloud contract on the account. Record the "
                                      "contract on the account first, or install the PBX on VMware, Hyper-V or "
                                      "vendor hardware.")),
    "cloud-contract-in-use": ("R7", N_("PBX {pbx} rents licenses in the cloud, which needs the cloud contract. End "
                                       "its rent or move it to VMware, Hyper-V or vendor hardware first.")),
    "platform-unknown": ("bad-op", N_("Platform {platform} is unknown: one of {platforms}.")),
    # R8 mixing
    "mode-unknown": ("bad-op", N_("Mode {mode} is unknown: a PBX is either rental or purchased.")),
    "purchased-mixing": ("R8", N_("This PBX runs purchased licenses; rented licenses cannot be mixed with them on one "
                                  "PBX. Switch it to rental mode first, or register a separate rental PBX.")),
    "purchased-licenses": ("R8", N_("PBX {pbx} runs purchased licenses: remove them from the PBX, then confirm "
                                    "it, before switching it to rental mode (a PBX never mixes both).")),
    "still-renting": ("R8", N_("PBX {pbx} still rents licenses: end its rent (no licenses) before switching it to "
                               "purchased licenses.")),
    # R13 deletion
    "forfeit-consent": ("R13", N_("The account holds {balance_milli} now, more than the {confirmed_milli} agreed to "
                                  "be forfeited: credit was loaded since. Look at the balance again and confirm "
                                  "that amount.")),
    "account-deleted": ("deleted", N_("This account was deleted: its iSC were forfeited and it takes no more "
                                      "changes.")),
    # R14, R18 credit
    "min-credit": ("R14", N_("The credit does not cover this configuration for {days}. Load at least "
                             "{missing_milli} more, then try again.")),
    "still-suspended": ("R18", N_("The credit does not yet resume the installation: {missing_milli} more are needed "
                                  "to run its configuration for {days}. Load that much more, or reduce "
                                  "the licenses.")),
    # what a form showed while open and what its save found (the license editor's summary, the key form's preview):
    # said beside the save, the save having decided again on the state of its second
    "crossed-stopped": ("R18", N_("The credit ran out since: the installation is stopped, so this change waits for "
                                  "credit ({missing_milli} more would run it).")),
    "crossed-runs": ("R18", N_("Credit arrived since: this change runs at once instead of waiting for credit.")),
    "crossed-monthly": ("R16", N_("The monthly consumption after this change is {to_milli}, not {from_milli}.")),
    "crossed-ends": ("R16", N_("The credit now ends on {to_at}, not on {from_at}.")),
    "crossed-refused": ("", N_("A rule now refuses this change ({rules}): see the reason next to the item.")),
    "crossed-warns": ("", N_("A rule now warns about this change ({rules}).")),
    "crossed-cleared": ("", N_("What {rules} said of this change no longer holds.")),
    "crossed-key-restarts": ("R18", N_("The credit ran out since: this key restarts the stopped installation.")),
    "crossed-key-short": ("R18", N_("The credit ran out since: this key alone does not restart the installation "
                                    "({missing_milli} more are needed).")),
    "crossed-key-ends": ("R16", N_("With this key the credit now lasts until {to_at}, not {from_at}.")),
    # R26 rental terms
    "terms-not-accepted": ("R26", N_("The customer must accept the rental terms version {version} before the "
                                     "account is created: show them the terms (Software rental), record the "
                                     "signatory's name, then create the account.")),
    "terms-outdated": ("R26", N_("The customer accepted the rental terms version {accepted}, but version {version} is "
                                 "current: show them the current terms, record their acceptance and create the "
                                 "account again.")),
    "terms-unpublished": ("R26", N_("No rental terms are published, so version {accepted} cannot be accepted: create "
                                    "the account without terms.")),
    # keys
    "key-invalid": ("key-invalid", N_("This activation key cannot be used: {detail}. Check it against the printed "
                                      "key.")),
    "key-not-text": ("key-invalid", N_("An activation key is text, not {got}.")),
    "key-prefix": ("key-invalid", N_("An activation key starts with ISC1-: check it was copied whole.")),
    "key-bad-char": ("key-invalid", N_("The key cannot contain {char} (character {position}): check it against "
                                       "the printed key.")),
    "key-has-u": ("key-invalid", N_("The key cannot contain '{char}' (character {position}): an activation key "
                                    "never contains U.")),
    "key-incomplete": ("key-invalid", N_("The key is incomplete or has extra characters: check it was copied "
                                         "whole.")),
    "key-not-genuine": ("key-invalid", N_("This key is not genuine or was mistyped: check it against the printed "
                                          "key.")),
    "key-untrusted": ("key-invalid", N_("This key names signing key {kid}, which is not trusted here: it is not "
                                        "genuine, or this RentDesk lacks the vendor's public key {kid}.pub.")),
    "key-amount-zero": ("bad-op", N_("An activation key is worth more than 0 iSC.")),
    # amounts as typed (rental.money)
    "amount-empty": ("bad-op", N_("No amount given: type a number of iSC, e.g. 12.5.")),
    "amount-negative": ("bad-op", N_("'{text}' is negative: iSC amounts are never negative.")),
    "amount-separators": ("bad-op", N_("'{text}' mixes separators oddly: write it as 1234.5 or 1234,5.")),
    "amount-invalid": ("bad-op", N_("'{text}' is not an amount of iSC: type digits with at most one decimal mark, "
                                    "e.g. 12.5.")),
    "amount-decimals": ("bad-op", N_("'{text}' has more than 3 decimals: the smallest amount is 0.001 iSC.")),
    "amount-too-large": ("bad-op", N_("'{text}' is more than {max_milli}: check the amount for a typo.")),
    "milli-negative": ("bad-op", N_("The {what} is negative ({value} milli-iSC): iSC amounts are never negative.")),
    "milli-too-large": ("bad-op", N_("The {what} is more than {max_milli}: check it for a typo.")),
    "key-queued-here": ("key-used", N_("This key is already queued on this laptop (account {account}); a key is "
                                       "loaded once.")),
    "key-loaded-here": ("key-used", N_("This key was loaded on account {account} already: a key loads credit once. "
                                       "Use another key.")),
    "key-used-here": ("key-used", N_("The server refused this key as used before (account {account}): a key loads "
                                     "credit once. Use another key.")),
    "key-used": ("key-used", N_("This activation key was redeemed before, or is held for an account (automatic "
                                "reload): each key loads credit once. Use another key, or withdraw it from the "
                                "account that holds it.")),
    # R24 automatic reload
    "reload-days-invalid": ("bad-op", N_("Automatic reload takes place 14 or 28 days before the credit runs out, not "
                                         "{days}: choose 14 or 28 days, or 0 to switch it off.")),
    "deposit-unknown": ("not-found", N_("No key {key_id} is held for this account (it was withdrawn or used "
                                        "meanwhile): sync to see the keys it holds.")),
    "balance-overflow": ("bad-op", N_("This key would raise the balance beyond what one account can hold: use the "
                                      "credit first, or load the key on another account.")),
    # the shape of an op
    # what a laptop does not hold (app: NotFound)
    "account-not-here": ("not-found", N_("No account {account_id} on this laptop: sync to fetch it, or check the "
                                         "link.")),
    "account-not-verified": ("not-found", N_("No verified account {account_id}: sync first.")),
    "pbx-not-here": ("not-found", N_("No PBX {pbx_id} on account {account} (removed, or never registered).")),
    "op-not-waiting": ("not-found", N_("No change {op_id} is waiting for a decision: it was resolved already.")),
    "account-unknown": ("not-found", N_("No such account: create it first, or check the account id.")),
    "account-exists": ("bad-op", N_("An account with this id exists already: a new account needs a new id.")),
    "pbx-unknown": ("not-found", N_("PBX {pbx_id} is not registered on this account: register it first, or sync to "
                                    "see the account's PBXs.")),
    "pbx-exists": ("bad-op", N_("PBX {pbx_id} is registered on this account already: edit it instead.")),
    "serial-duplicate": ("bad-op", N_("PBX {pbx} of this account already has serial {serial}: check the serial "
                                      "number.")),
    "nothing-to-change": ("bad-op", N_("Nothing to change: give at least one field to edit.")),
    "revision-conflict": ("conflict", N_("PBX {pbx_id} changed meanwhile (revision {revision}; this change was made "
                                         "on revision {base_revision}): sync, review it and redo the change.")),
    "edit-conflict": ("conflict", N_("Changed meanwhile by someone else: the server holds {held}. The rest of this "
                                     "edit was applied; re-apply it to put yours in place.")),
    "rerated": ("R23", N_("Re-rated at the new price list ({from} → {to}): {old_monthly_milli} → "
                          "{new_monthly_milli} a month.")),
    "access": ("access", N_("This account cannot be changed with your credentials.")),
    "op-reuse": ("op-reuse", N_("This op id was already used for another change: each change needs a new id.")),
    "bad-field": ("bad-op", N_("{detail}")),
    # the shape of a field (rental.validation): {field} names it, {got} is what was sent instead
    "field-not-text": ("bad-op", N_("{field} must be text, not {got}.")),
    "field-not-unicode": ("bad-op", N_("{field} holds a character that is not Unicode text (a lone UTF-16 "
                                       "surrogate): send it as valid UTF-8.")),
    "field-empty": ("bad-op", N_("{field} must be 1 to {max} printable characters: it is empty.")),
    "field-too-long": ("bad-op", N_("{field} must be 1 to {max} printable characters: it has {length}.")),
    "field-control": ("bad-op", N_("{field} must be 1 to {max} printable characters on one line: it holds a line "
                                   "break, tab or other control character.")),
    "email-invalid": ("bad-op", N_("{field} '{value}' is not an e-mail address: write it like name@example.com.")),
    "firmware-too-long": ("bad-op", N_("{field} is too long for a firmware version such as 13r2sr5.")),
    "language-invalid": ("bad-op", N_("{field} must be 'en' or 'fr', not {value}.")),
    "field-not-boolean": ("bad-op", N_("{field} must be true or false, not {got}.")),
    "pbx-id-invalid": ("bad-op", N_("{field} must be 1 to 64 letters, digits, '.', '_', ':' or '-' (a UUID will "
                                    "do).")),
    "uuid-invalid": ("bad-op", N_("{field} must be a UUID such as 6c1d0a4e-3f5b-4a8e-9d2c-0b7e1f2a3c4d.")),
    "field-not-whole": ("bad-op", N_("{field} must be a whole number, not {got}.")),
    "field-out-of-range": ("bad-op", N_("{field} must be a whole number from 0 to {high} ({value} is out of "
                                        "range).")),
}

# other programs' words, as codes: what the server's op schema, the signature checks and the server-address
# check used to say in English sentences (a ``detail``), now a code with its values like every other reason
CATALOG.update({
    # an op's own shape (license_server.batch, license_server.opschema)
    "op-not-object": ("bad-op", N_("An op is an object with op_id, kind and account_id, not {got}.")),
    "op-id-not-uuid": ("bad-op", N_("op_id must be a UUID made by the client (the idempotency key).")),
    "kind-unknown": ("bad-op", N_("kind '{kind}' is unknown: one of {kinds}.")),
    "account-id-not-uuid": ("bad-op", N_("account_id must be a UUID (the client makes it at create_account).")),
    "op-field-unknown": ("bad-op", N_("{kind} has no field '{name}': its fields are {fields}.")),
    "op-field-missing": ("bad-op", N_("{kind} needs '{name}'.")),
    "key-id-invalid": ("bad-op", N_("{field} must be the hex id of a held key (up to {max} hex digits), as the "
                                    "account's deposits list it.")),
    "items-not-object": ("bad-op", N_("{field} must be an object of references and quantities, not {got}; an "
                                      "empty object ends the rent.")),
    "items-too-many": ("bad-op", N_("{field} names {count} items; at most {max}.")),
    "ref-too-long": ("bad-op", N_("{field} has a reference longer than {max} characters: {ref}…")),
    # key files of the vendor and of the server (rental.signing): words for the operator
    "signing-key-unreadable": ("key-invalid", N_("Signing key {kid} is not an unencrypted PEM private key.")),
    "signing-key-not-ed25519": ("key-invalid", N_("Signing key {kid} is not an Ed25519 key.")),
    "trusted-key-unreadable": ("key-invalid", N_("Trusted key {kid} is not a PEM public key.")),
    "trusted-key-not-ed25519": ("key-invalid", N_("Trusted key {kid} is not an Ed25519 public key.")),
    # a vendor's key file a technician imports (app.trusted_keys, DESIGN §6 "Trusted keys"): words for the technician
    "key-file-missing": ("trusted-key", N_("Choose the vendor's key file: a small file whose name ends in .pub, "
                                           "like vendor-2026.pub.")),
    "key-file-name": ("trusted-key", N_("“{name}” is not named like a vendor's key file: its name is the key's "
                                        "name followed by .pub (letters, digits, '.', '_' or '-', up to 32, like "
                                        "vendor-2026.pub). Choose the file exactly as your vendor sent it.")),
    "key-file-too-large": ("trusted-key", N_("“{name}” is {size} bytes: a vendor's public key file is under {max} "
                                             "bytes. Choose the .pub file your vendor sent.")),
    "key-file-private": ("trusted-key", N_("“{name}” holds a PRIVATE key: it must never be copied to a laptop. "
                                           "Delete this copy and tell your vendor; ask for the public key file "
                                           "(.pub) instead.")),
    "key-file-unreadable": ("trusted-key", N_("“{name}” is not a public key file (one starts with -----BEGIN "
                                              "PUBLIC KEY-----): ask your vendor for its .pub file.")),
    "key-file-not-ed25519": ("trusted-key", N_("“{name}” holds a public key of another kind than Ed25519, which "
                                               "RentDesk's license servers use: ask your vendor for its RentDesk "
                                               "signing key.")),
    "key-file-demo": ("trusted-key", N_("“{name}” is RentDesk's public demo key, whose private half everyone has: "
                                        "only `rentdesk demo` trusts it. Ask your vendor for its own key.")),
    "key-file-kid-taken": ("trusted-key", N_("Another key named {kid} is already trusted (fingerprint "
                                             "{fingerprint}). RentDesk never replaces a trusted key: a vendor's new "
                                             "key comes with a new name. Check with your vendor.")),
    "key-folder-open": ("trusted-key", N_("Another user of this computer owns or may write in {folder} "
                                          "(permissions {mode}): no key there is trusted, as anyone could have put "
                                          "one in. Make the folder yours alone (chmod 700), then open RentDesk "
                                          "again.")),
    "key-file-open": ("trusted-key", N_("“{name}” belongs to or may be changed by another user of this computer "
                                        "(permissions {mode}): it is not trusted. Make it yours alone (chmod 600) "
                                        "or import the key again.")),
    "key-file-changed": ("trusted-key", N_("The key to trust is not the one whose fingerprint was shown: import "
                                           "the file again.")),
    "key-file-unwritable": ("trusted-key", N_("The key could not be saved in {folder}: {detail}. Check that this "
                                              "folder is yours and not full.")),
    # a signed document that must not be believed (rental.signing.Keyring): clauses, shown after "refused:"
    "kid-already-trusted": ("signature", N_("kid '{kid}' is already trusted with another key: a new key needs a "
                                            "new kid")),
    "kid-unknown": ("signature", N_("unknown key '{kid}': trusted keys are {trusted}")),
    "kid-unknown-none-trusted": ("signature", N_("unknown key '{kid}': no key is trusted here")),
    "envelope-not-object": ("signature", N_("an envelope is a JSON object, not {got}")),
    "envelope-fields": ("signature", N_("an envelope has exactly the fields type, kid, payload and sig, not "
                                        "{fields}")),
    "envelope-field-not-text": ("signature", N_("envelope '{name}' is not a string")),
    "envelope-type-unknown": ("signature", N_("unknown envelope type '{type}'")),
    "envelope-type-unexpected": ("signature", N_("expected a '{expected}' envelope, got '{type}'")),
    "envelope-unknown-key": ("signature", N_("envelope signed by unknown key '{kid}': trusted keys are {trusted}")),
    "envelope-unknown-key-none-trusted": ("signature", N_("envelope signed by unknown key '{kid}': no key is "
                                                          "trusted here")),
    "envelope-not-base64url": ("signature", N_("envelope '{name}' is not unpadded base64url")),
    "envelope-not-canonical": ("signature", N_("envelope '{name}' is not canonical base64url")),
    "envelope-sig-length": ("signature", N_("envelope 'sig' is {length} bytes, an Ed25519 signature is {expected}")),
    "envelope-bad-signature": ("signature", N_("bad signature on '{type}' envelope from key '{kid}': refused")),
    "payload-type-differs": ("signature", N_("payload type '{payload_type}' differs from envelope type '{type}'")),
    "payload-float": ("signature", N_("signed payload holds a float ({number}): amounts are integers, so it is "
                                      "refused")),
    "payload-constant": ("signature", N_("signed payload holds {constant}, which is not JSON")),
    "payload-key-twice": ("signature", N_("signed payload names '{key}' twice, so it is ambiguous and refused")),
    "payload-not-utf8": ("signature", N_("signed payload is not UTF-8 text")),
    "payload-too-deep": ("signature", N_("signed payload is nested too deeply to read")),
    "payload-not-json": ("signature", N_("signed payload is not JSON")),
    "payload-not-object": ("signature", N_("signed payload must be a JSON object, not {got}")),
    # the license server's address (app.settings.check_server_url)
    "url-not-address": ("sync", N_("{url} is not a server address: write it like https://licenses.example.com")),
    "url-in-clear": ("sync", N_("{url} uses plain http to {host}, another machine, so the technician token would "
                                "travel in clear. Use https:// for a server on the network.")),
    "url-extra-parts": ("sync", N_("{url} has parts a server address never has (query, fragment or user): remove "
                                   "them.")),
    # what the app checks in a genuine document beyond its signature (app/replica.py, app/terms.py, app/sync.py)
    "envelope-unreadable": ("signature", N_("the {type} envelope cannot be read")),
    "snapshot-lacks": ("signature", N_("signed account snapshot lacks '{name}': refused")),
    "snapshot-bad-field": ("signature", N_("signed account snapshot has a bad '{name}': refused")),
    "snapshot-other-partner": ("signature", N_("the snapshot of account {account_id} belongs to another partner "
                                               "than this technician's (a genuine document slipped into the "
                                               "answer): refused")),
    "terms-bad-field": ("signature", N_("signed terms have a bad '{name}': refused")),
    "terms-lack-text": ("signature", N_("signed terms lack the English or the French text: refused")),
    "answer-not-document": ("signature", N_("the sync answer is not the document DESIGN §5 describes")),
    "result-not-op-sent": ("signature", N_("the result for op {op_id} does not match the op sent")),
    "technician-other-token": ("signature", N_("the signed technician document answers another token than this "
                                               "laptop's")),
    # a document the replica refused, with the verifier's reason as its cause
    "snapshot-refused": ("sync", N_("Account snapshot refused: {cause}.")),
    "terms-refused": ("sync", N_("Rental terms refused: {cause}.")),
    "pricelist-refused-cause": ("sync", N_("Price list refused: {cause}.")),
    # an answer the app refused, with the verifier's reason: {cause} is that reason's code, its params beside it
    "sync-answer-refused-cause": ("sync", N_("The server's answer was refused, nothing of it was believed: "
                                             "{cause}.")),
})


def event_code(kind: str) -> str:
    """The catalog code of a history event's kind (R25): its one-line wording."""
    return f"event-{kind}"

#: The license server's refusals of a request (its HTTP error documents {error, code, params, message}): rule
#: "api"; the app words them from the code when it shows what the server said.
API_ERRORS: dict[str, str] = {
    "api-token-missing": N_("Send the technician's token as 'Authorization: Bearer <token>'."),
    "api-token-guessing": N_("Too many unknown tokens from this address: wait {wait} s, then check the token (ask the "
                             "vendor for a technician token)."),
    "api-token-unknown": N_("This token is not known: ask the vendor for a technician token."),
    "api-token-revoked": N_("This technician's token was revoked by the vendor: ask the vendor for a new token and "
                            "enter it in RentDesk's Settings."),
    "api-token-expired": N_("This technician's token expired at {when}: ask the vendor for a new token and enter it in "
                            "RentDesk's Settings."),
    "api-no-public-url": N_("The license server has no public address for customer pages: the vendor must set "
                            "LICENSE_SERVER_PUBLIC_URL."),
    "api-link-account-deleted": N_("This account was deleted: it has no customer page any more."),
    "api-no-pricelist": N_("No price list is published yet (license-server publish-prices FILE)."),
    "api-no-terms": N_("No rental terms are published yet (license-server publish-terms FILE)."),
    "api-account-unknown": N_("No such account among your partner's accounts."),
    "api-not-whole": N_("'{name}' must be a whole number from {low} to {high}."),
    "api-sync-body": N_("The body must be {{\"client_id\": UUID, \"ops\": [op, ...]}}."),
    "api-too-many-ops": N_("{count} ops in one batch: at most {max} ops per /sync request. Send them in several "
                           "batches, in order."),
    "api-body-too-large": N_("The request body is larger than {limit} bytes: nothing was applied. Send fewer ops per "
                             "/sync request."),
    "api-not-utf8": N_("The body is not UTF-8 (byte {byte}): send JSON encoded as UTF-8."),
    "api-too-deep": N_("The body nests arrays or objects too deeply: send the documented shape, {{\"client_id\": UUID, "
                       "\"ops\": [op, ...]}}."),
    "api-not-json": N_("The body is not JSON: {detail}."),
    "api-duplicate-key": N_("The body names '{key}' twice in one object: send each field once; nothing was applied."),
    "api-number-too-long": N_("The body holds a number with too many digits (or a value JSON does not have): every "
                              "number in the API fits in 19 digits."),
    # HTTP's own refusals (license_server.errors), before or around the API's views
    "api-bad-request": N_("The request could not be read: check its JSON body and its headers against "
                          "/api/v1/openapi.json."),
    "api-no-such-path": N_("No such path: see /api/v1/openapi.json for the API."),
    "api-method-not-allowed": N_("This method is not allowed on this path: use {allowed}."),
    "api-request-too-large": N_("The request body is too large: send fewer ops per /sync request."),
    "api-http-error": N_("The request was refused (HTTP {status}): see /api/v1/openapi.json for the API."),
    "api-internal": N_("The server failed on this request; nothing was changed by the failing op."),
    "api-not-http": N_("The request is not valid HTTP/1.1: check the request line and the headers."),
    "api-uri-too-long": N_("The request line is too long: the API's paths and queries are short (see "
                           "/api/v1/openapi.json)."),
    "api-headers-too-large": N_("The request headers are too many or too long: send only the usual headers and "
                                "'Authorization: Bearer <token>'."),
}
CATALOG.update({code: ("api", template) for code, template in API_ERRORS.items()})

#: Why a sync did not complete, or what of an answer the app refused (notices of the app, rule "sync").
SYNC_NOTICES: dict[str, str] = {
    "sync-no-server": N_("No license server or token set: enter them in Settings to sync."),
    "sync-timeout": N_("The license server did not answer in time: the changes stay queued and are sent again "
                       "later (each is applied once)."),
    "sync-unreachable": N_("The license server cannot be reached (no connection, or the address in Settings is "
                           "wrong): working offline; the changes stay queued."),
    "sync-not-json": N_("The license server answered {status} with something that is not JSON: the changes stay "
                        "queued."),
    "sync-not-object": N_("The license server's answer is not a JSON object: refused."),
    "sync-server-said": N_("The license server said {error} ({status}): {detail}"),
    "sync-server-refused": N_("The license server said {error} ({status}): {cause}."),
    "sync-token-refused-cause": N_("The license server said {error} ({status}): {cause}. Check the technician token "
                                   "in Settings."),
    "sync-token-refused": N_("The license server said {error} ({status}): {detail} Check the technician token in "
                             "Settings."),
    # 401 token-revoked / token-expired (DESIGN §5): plain words, no server text, and what to do
    "sync-token-revoked": N_("Your technician token was revoked by the vendor: this laptop can no longer sync with "
                             "it. Ask your vendor for a new token and enter it in Settings. Nothing is lost: your "
                             "changes stay queued and are sent once the new token is entered."),
    "sync-token-expired": N_("Your technician token has expired. Ask your vendor for a new token and enter it in "
                             "Settings. Nothing is lost: your changes stay queued and are sent once the new token "
                             "is entered."),
    "sync-untrusted-key": N_("The license server signs its answers with key '{kid}', which this RentDesk does not "
                             "trust: ask your vendor for {kid}.pub and import it in Settings, under “Trusted signing "
                             "keys”, after comparing its fingerprint; the sync then tries again. Nothing of this "
                             "answer was believed."),
    "sync-answer-refused": N_("The server's answer was refused, nothing of it was believed: {detail}."),
    "sync-failed": N_("Sync failed unexpectedly: {detail}"),
    "sync-insecure-url": N_("{detail}"),
}
CATALOG.update({code: ("sync", template) for code, template in SYNC_NOTICES.items()})

#: What the app's encrypted store and its backups refuse (app.store, app.backup; rule "store"): what to do next.
STORE_ERRORS: dict[str, str] = {
    "store-error": N_("The store could not be used: nothing was changed."),
    "store-wrong-passphrase": N_("Wrong passphrase: this store did not open. Check the passphrase (it is "
                                 "case-sensitive) and try again. Nothing was changed."),
    "store-wrong-old-passphrase": N_("The current passphrase is wrong: the passphrase was not changed."),
    "store-weak-passphrase": N_("The passphrase must have at least {min} characters: it protects customer data on a "
                                "laptop that may be lost. Choose a longer one."),
    "store-no-header": N_("No store header at {path}: run the first-time setup."),
    "store-header-damaged": N_("The store header {path} is damaged: restore it from a backup."),
    "store-missing": N_("No store in {home}: run the first-time setup, or import a backup."),
    "store-exists": N_("A store already exists in {home}: unlock it instead (it is never overwritten)."),
    "store-disk-full": N_("The disk holding {home} is full: this change was not saved. Free some space on it (or "
                          "move the data folder with RENTDESK_HOME) and try again; what was saved before is intact."),
    "store-read-only": N_("The data folder {home} is read-only: RentDesk cannot save anything there. Make it "
                          "writable (or choose another folder with RENTDESK_HOME) and try again; nothing was "
                          "changed."),
    "store-read-only-open": N_("The data folder {home} is read-only: RentDesk cannot open its store there. Make it "
                               "writable (or choose another folder with RENTDESK_HOME) and try again; nothing was "
                               "changed."),
    "store-folder-foreign": N_("The data folder {home} belongs to another user of this computer ({owner}), who could "
                               "change or replace what RentDesk keeps there. Choose a folder of your own with --home "
                               "or RENTDESK_HOME; nothing was changed."),
    "store-folder-open": N_("Other users of this computer may write in the data folder {home} (its permissions "
                            "are {mode}): they could plant a link or a key file where RentDesk keeps its store. "
                            "Choose a folder of your own with --home or RENTDESK_HOME, or make this one yours alone "
                            "(chmod 700); nothing was changed."),
    "backup-store-exists": N_("A store already exists in {home}: restore into a new, empty data folder."),
    "backup-unreadable": N_("{path} cannot be read: check the path (a {suffix} file)."),
    "backup-not-rentdesk": N_("{path} is not a RentDesk backup, or it is damaged: choose a {suffix} file. Nothing "
                              "was restored."),
    "backup-damaged": N_("This backup is damaged: RentDesk cannot read it. Choose another backup file; nothing was "
                         "restored."),
    "backup-too-large": N_("This backup is damaged: its store would unpack to {size} bytes, more than RentDesk ever "
                           "writes ({max}). Nothing was restored."),
    "backup-wrong-passphrase": N_("Wrong passphrase for this backup: it is the passphrase the store had when the "
                                  "backup was made. Nothing was restored."),
}
CATALOG.update({code: ("store", template) for code, template in STORE_ERRORS.items()})

#: One line per queued op, as screens list them (a notice, not a refusal: rule "").
DESCRIPTIONS: dict[str, str] = {
    "op-create-account": N_("Create account {name} ({email})"),
    "op-update-account": N_("Edit account: {changes}"),
    "op-register-pbx": N_("Register PBX {name} ({platform}, {firmware}, {mode})"),
    "op-update-pbx": N_("Edit PBX {pbx}: {changes}"),
    "op-set-licenses": N_("Set licenses of PBX {pbx}: {items}"),
    "op-end-rent": N_("Set licenses of PBX {pbx}: none (rent ended)"),
    "op-remove-pbx": N_("Remove PBX {pbx}"),
    "op-redeem-key": N_("Load activation key {key}…"),
    "op-deposit-key": N_("Deposit activation key {key}… for automatic reload"),
    "op-withdraw-key": N_("Withdraw held key {key_id}"),
    "op-delete-account": N_("Delete the account (its iSC are forfeited)"),
}
CATALOG.update({code: ("", template) for code, template in DESCRIPTIONS.items()})

#: The name of each op kind as screens show it (rental.opkinds.kind_code: "kind-" + the kind, dashed).
KIND_NAMES: dict[str, str] = {
    "kind-create-account": N_("Create account"),
    "kind-update-account": N_("Edit account"),
    "kind-register-pbx": N_("Add PBX"),
    "kind-update-pbx": N_("Edit PBX"),
    "kind-set-licenses": N_("Set licenses"),
    "kind-remove-pbx": N_("Remove PBX"),
    "kind-redeem-key": N_("Load activation key"),
    "kind-deposit-key": N_("Deposit activation key"),
    "kind-withdraw-key": N_("Withdraw held key"),
    "kind-delete-account": N_("Delete account"),
}
CATALOG.update({code: ("", template) for code, template in KIND_NAMES.items()})

#: One line per event of an account's history (R25), by kind; the code is "event-" + kind (a notice: rule "").
#: Params are plain data: ``pbx`` a PBX's name, ``changes`` lines such as "01-00010-001: 2 → 5", ``*_milli`` amounts.
EVENTS: dict[str, str] = {
    "created": N_("Account created: {name}"),
    "account-edited": N_("Account edited: {changes}"),
    "pbx-registered-rental": N_("PBX {pbx} registered in rental mode (serial {serial})"),
    "pbx-registered-purchased": N_("PBX {pbx} registered with purchased licenses (serial {serial})"),
    "pbx-edited": N_("PBX {pbx} edited: {changes}"),
    "pbx-to-rental": N_("PBX {pbx} switched to rental mode; its purchased licenses were confirmed removed"),
    "pbx-to-purchased": N_("PBX {pbx} switched back to purchased licenses"),
    "licenses-changed": N_("Licenses of PBX {pbx} changed: {changes}"),
    "pbx-removed": N_("PBX {pbx} removed (serial {serial})"),
    "key-loaded": N_("Activation key loaded: +{amount_milli}"),
    "key-deposited": N_("Activation key held for automatic reload: {amount_milli}"),
    "key-withdrawn": N_("Held activation key withdrawn: {amount_milli}"),
    "key-reloaded": N_("Automatic reload: +{amount_milli} from a held key"),
    "suspended": N_("Suspended: the credit was used up, the installations stopped"),
    "resumed": N_("Resumed: the installations run again"),
    "expired": N_("Credit expired: {amount_milli} left unused for the retention period"),
    "deleted": N_("Account deleted: {amount_milli} forfeited"),
    "customer-link": N_("A new link to the customer's page was made: the previous link no longer works"),  # R27
}
CATALOG.update({event_code(kind): ("", template) for kind, template in EVENTS.items()})



@dataclass(frozen=True)
class Reason:
    """One refusal, warning or notice: the rule behind it, a stable code and its values."""

    rule: str
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)
    #: the form field it concerns, when one is (the app shows the reason next to it); not part of the data an
    #: op-result carries, nor of equality
    field: str | None = dataclasses.field(default=None, compare=False)

    def about(self, name: str | None) -> "Reason":
        """The same reason, concerning the form field name."""
        return dataclasses.replace(self, field=name)

    @property
    def ref(self) -> str | None:
        """The price-list item concerned, when there is one (for per-line display)."""
        ref = self.params.get("ref")
        return ref if isinstance(ref, str) else None

    @property
    def message(self) -> str:
        """The English wording (the server's ``message``; screens translate from the code)."""
        return render(self.code, self.params)

    def to_dict(self) -> dict[str, Any]:
        """As an op-result lists it (DESIGN §5): {rule, code, params, message}."""
        return {"rule": self.rule, "code": self.code, "params": dict(self.params), "message": self.message}

    @classmethod
    def of(cls, code: str, **params: Any) -> "Reason":
        """The reason for code with its catalog rule."""
        return cls(rule_of(code), code, params)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Reason":
        return cls(str(data.get("rule") or ""), str(data.get("code") or ""), dict(data.get("params") or {}))


def rule_of(code: str) -> str:
    return CATALOG[code][0]


def template_of(code: str) -> str | None:
    found = CATALOG.get(code)
    return found[1] if found else None


#: Words for codes a reason carries as values: an edit's fields and values (``changes`` of account-edited,
#: pbx-edited and the queued edits, each {"field": name, "to": value}), ``platform`` and ``mode`` params.
EDIT_FIELDS = {"name": N_("name"), "contact_email": N_("contact e-mail"), "cloud_contract": N_("cloud contract"),
               "language": N_("language"), "auto_reload_days": N_("automatic reload"), "firmware": N_("firmware"),
               "platform": N_("platform"), "hardware_model": N_("hardware model"), "mode": N_("mode"),
               "serial": N_("serial number")}
VALUE_WORDS = {
    "platform": {"vmware": N_("VMware"), "hyper-v": N_("Hyper-V"), "hardware": N_("Vendor hardware"),
                 "cloud": N_("Cloud")},
    "mode": {"rental": N_("rental"), "purchased": N_("purchased")},
    "language": {"en": N_("English"), "fr": N_("French")},
}
YES, NO, OFF = N_("yes"), N_("no"), N_("off")
RELOAD_DAYS = N_("{days} days before the credit runs out")


def change_text(change: Mapping[str, Any], words: Callable[[str, str], str] | None = None) -> str:
    """One edited field as "field → value", or "field old → new" when the change says what it was ("from"), in the
    reader's words (``words("word", english)`` translates); a field that is no known one (an item's name) is shown
    as given."""
    word = words or (lambda _name, english: english)
    key = str(change.get("field"))

    def shown(value, blank: str = "—") -> str:
        if isinstance(value, bool):
            return word("word", YES if value else NO)
        if key == "auto_reload_days" and isinstance(value, int):
            return word("word", RELOAD_DAYS).format(days=value) if value else word("word", OFF)
        if key in VALUE_WORDS and isinstance(value, str):
            return word("word", VALUE_WORDS[key][value]) if value in VALUE_WORDS[key] else value
        return blank if value is None or value == "" else str(value)

    label = word("word", EDIT_FIELDS[key]) if key in EDIT_FIELDS else key
    if "from" in change:
        return f"{label} {shown(change.get('from'))} → {shown(change.get('to'))}"
    to = change.get("to")
    return f"{label} → {shown(to, str(to))}"


#: English words for the ``got`` codes of field reasons (rental.validation.TYPE_CODES).
GOT_WORDS = {"object": N_("an object"), "list": N_("a list"), "text": N_("text"), "boolean": N_("true/false"),
             "number": N_("a number"), "decimal": N_("a decimal number"), "null": N_("null"),
             "other": N_("something else")}


def english_days(count: int) -> str:
    """A number of days with its English noun (the server's messages; screens pass their own plural forms)."""
    return f"{count} day" if count == 1 else f"{count} days"


def format_param(name: str, value: Any, *, amount: Callable[[int], str] | None = None,
                 moment: Callable[[int], str] | None = None, words: Callable[[str, str], str] | None = None,
                 days: Callable[[int], str] | None = None) -> str:
    """One parameter as text, by the naming convention (amounts, times, lists; ``field`` and ``got`` are
    words the reader's language gives, through ``words(name, value)``)."""
    if isinstance(value, list | tuple):
        return ", ".join(format_param(name, each, amount=amount, moment=moment, words=words) for each in value)
    if isinstance(value, Mapping) and "field" in value and "to" in value:
        return change_text(value, words)
    if name in ("platform", "mode") and isinstance(value, str) and value in VALUE_WORDS[name]:
        english = VALUE_WORDS[name][value]
        return words("word", english) if words is not None else english
    if name in ("field", "got") and isinstance(value, str):
        if words is not None:
            return words(name, value)
        return GOT_WORDS.get(value, value) if name == "got" else value
    if isinstance(value, int) and not isinstance(value, bool):
        if name == "days":
            return (days or english_days)(value)
        if name.endswith("_milli"):
            return (amount or format_milli)(value)
        if name.endswith("_at"):
            return moment(value) if moment else f"{value} (UTC seconds)"
    return str(value)


def render(code: str, params: Mapping[str, Any], template: str | None = None, *,
           translate: Callable[[str], str] | None = None, **formatters: Any) -> str:
    """The template of code (or the one given, e.g. translated) filled with params; unknown codes fall back to
    their params' ``detail`` or the code itself, never to a crash.

    A ``cause`` param is the code of an inner reason whose params sit beside it (flat, so params stay plain
    data): it is rendered from its own template, through ``translate`` when the reader's language is not
    English."""
    template = template or template_of(code)
    values = {name: format_param(name, value, **formatters) for name, value in params.items()}
    cause = params.get("cause")
    inner = template_of(cause) if isinstance(cause, str) and cause != code else None
    if inner is not None:
        rest = {name: value for name, value in params.items() if name != "cause"}
        values["cause"] = render(cause, rest, translate(inner) if translate else inner, translate=translate,
                                 **formatters).rstrip(".")
    if template is None:
        return values.get("detail") or code
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return template
