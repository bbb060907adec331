"""Words the screens show for codes (statuses, platforms, op kinds, rules), in the UI's language.

The core and the server write their reasons in English; for the French UI the known
reasons are translated here by pattern, keeping their figures (amounts, refs, versions).
"""

from __future__ import annotations

import re

from flask import Flask

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from rental.money import parse_isc
from rental.reasons import render, template_of
from rental.errors import AmountError

from ..clock import DATE, NOTICE_OFFSET_S
from .i18n import fmt_milli, fmt_moment, fmt_number, fmt_span, language

STATUS = {
    "active": _l("active"),
    "idle": _l("idle"),
    "suspended": _l("suspended"),
    "deleted": _l("deleted"),
    "pending": _l("not yet synced"),
    "rejected": _l("rejected"),
    "conflict": _l("conflict"),
    "applied": _l("applied"),
}
PLATFORM = {
    "vmware": _l("VMware"),
    "hyper-v": _l("Hyper-V"),
    "hardware": _l("Vendor hardware"),
    "cloud": _l("Cloud"),
}
MODE = {"rental": _l("rental"), "purchased": _l("purchased")}
KIND = {
    "create_account": _l("Create account"),
    "update_account": _l("Edit account"),
    "register_pbx": _l("Add PBX"),
    "update_pbx": _l("Edit PBX"),
    "set_licenses": _l("Set licenses"),
    "remove_pbx": _l("Remove PBX"),
    "redeem_key": _l("Load activation key"),
    "deposit_key": _l("Deposit activation key"),
    "withdraw_key": _l("Withdraw held key"),
    "delete_account": _l("Delete account"),
}
#: One line per rule: what it is about, shown before the reason.
RULE_TITLE = {
    "R1": _l("firmware 13r1 or later"),
    "R2": _l("not rentable"),
    "R3": _l("maintenance is included"),
    "R6": _l("licenses must run continuously"),
    "R7": _l("platform"),
    "R8": _l("rented and purchased never mixed"),
    "R13": _l("deleting forfeits the iSC"),
    "R14": _l("not enough credit"),
    "R18": _l("credit used up"),
    "R26": _l("rental terms"),
    "key-invalid": _l("activation key refused"),
    "key-used": _l("activation key already used"),
    "access": _l("no access"),
    "deleted": _l("account deleted"),
    "not-found": _l("not found"),
    "bad-op": _l("invalid value"),
    "op-reuse": _l("operation reused"),
}

# (pattern of the English reason, French text with the same groups) — the core's and the server's messages.
_FRENCH = [
    (r"Firmware (\S+) is older than 13r1, the first version that supports rental\. Update the PBX to 13r1 or later, then put it in rental mode\.",
     "Le firmware {0} est antérieur à 13r1, la première version qui permet la location. Mettez le PBX à jour en 13r1 ou plus récent, puis passez-le en mode location."),
    (r"'(.*)' is not a firmware version: write it like 13r1, 13r2sr5 or 14r1\.",
     "« {0} » n'est pas une version de firmware : écrivez-la comme 13r1, 13r2sr5 ou 14r1."),
    (r"(\S+) \((.*)\) is a hardware license: hardware licenses \(01-00500-xxx\) are bought, never rented\. Remove it from the rental configuration\.",
     "{0} ({1}) est une licence matérielle : les licences matérielles (01-00500-xxx) s'achètent, elles ne se louent pas. Retirez-la de la configuration en location."),
    (r"(\S+) \((.*)\) is partner or third-party software, which cannot be rented\. License it from its vendor and remove it from the rental configuration\.",
     "{0} ({1}) est un logiciel partenaire ou tiers, qui ne se loue pas. Obtenez sa licence auprès de son éditeur et retirez-le de la configuration en location."),
    (r"(\S+) \((.*)\) is software maintenance, already included in the rent \(a rental PBX may always run the newest firmware\)\. Remove it: it is never billed\.",
     "{0} ({1}) est de la maintenance logicielle, déjà comprise dans la location (un PBX en location peut toujours utiliser le firmware le plus récent). Retirez-la : elle n'est jamais facturée."),
    (r"(\S+) \((.*)\) is not offered for rent(.*)\. Remove it from the rental configuration\.",
     "{0} ({1}) n'est pas proposé en location{2}. Retirez-le de la configuration en location."),
    (r"Platform '(.*)' cannot run rented licenses: .*",
     "La plateforme « {0} » ne peut pas faire tourner de licences louées : utilisez la virtualisation VMware ou Hyper-V, du matériel dédié du fabricant, ou le cloud du fabricant (avec un contrat cloud)."),
    (r"A cloud installation needs a cloud contract on the account\..*",
     "Une installation cloud exige un contrat cloud sur le compte. Enregistrez d'abord le contrat sur le compte, ou installez le PBX sur VMware, Hyper-V ou du matériel du fabricant."),
    (r"This PBX runs purchased licenses; rented licenses cannot be mixed with them on one PBX\..*",
     "Ce PBX utilise des licences achetées ; on ne peut pas y mêler des licences louées. Enregistrez un PBX distinct en mode location pour les licences louées."),
    (r"The credit does not cover this configuration for (\d+) days\. Load at least (.*) more, then try again\.",
     "Le crédit ne couvre pas cette configuration pendant {0} jours. Chargez au moins {1:amount} de plus, puis réessayez."),
    (r"Raising (.*) again so soon after reducing it would be reduce-then-restore number (\d+) in the period:.*",
     "Remonter {0} si tôt après l'avoir réduit serait la réduction-puis-rétablissement n° {1} de la période : les licences louées doivent fonctionner en continu. Gardez une configuration stable, dimensionnée pour le besoin habituel."),
    (r"Raising (.*) again soon after reducing it counts as reduce-then-restore \(R6\):.*",
     "Remonter {0} peu après l'avoir réduit compte comme une réduction-puis-rétablissement (R6) : les licences louées doivent fonctionner en continu, et les répétitions sont refusées."),
    (r"The quantity of (\S+) must be a whole number from 0 to (.*)\.",
     "La quantité de {0} doit être un nombre entier de 0 à {1}."),
    (r"(\S+) is not on price list (\S+): check the reference.*",
     "{0} ne figure pas dans la liste de prix {1} : vérifiez la référence ou synchronisez pour obtenir la liste la plus récente."),
    (r"This activation key was refused: (.*?)\.?",
     "Cette clé d'activation a été refusée : {0:reason}."),
    (r"This key is already queued on this laptop \(account (.*)\); a key is loaded once\.",
     "Cette clé est déjà en attente sur cet ordinateur (compte {0}) ; une clé ne se charge qu'une fois."),
    (r"Type the balance shown, (.*), to confirm: .*",
     "Tapez le solde affiché, {0:amount}, pour confirmer : supprimer le compte fait perdre ses iSC pour de bon ; ils ne sont jamais remboursés ni transférés."),
    # one-line summaries of queued changes (app/projection.py describe())
    (r"Create account (.*) \((.*)\)", "Créer le compte {0} ({1})"),
    (r"Edit account: (.*)", "Modifier le compte : {0}"),
    (r"Register PBX (.*) \((.*)\)", "Enregistrer le PBX {0} ({1})"),
    (r"Edit PBX (.*?): (.*)", "Modifier le PBX {0} : {1}"),
    (r"Set licenses of PBX (.*?): none \(rent ended\)", "Licences du PBX {0} : aucune (fin de la location)"),
    (r"Set licenses of PBX (.*?): (.*)", "Licences du PBX {0} : {1}"),
    (r"Remove PBX (.*)", "Retirer le PBX {0}"),
    (r"Load activation key (.*)", "Charger la clé d'activation {0}"),
    (r"Deposit activation key (.*) for automatic reload", "Déposer la clé d'activation {0} pour la recharge automatique"),
    (r"Withdraw held key (.*)", "Retirer la clé déposée {0}"),
    (r"Delete the account \(its iSC are forfeited, R13\)", "Supprimer le compte (ses iSC sont perdus, R13)"),
    (r"No license server or token set: enter them in Settings to sync\.",
     "Aucun serveur de licences ni jeton : saisissez-les dans les Réglages pour synchroniser."),
    (r"Price list (\S+) is newer than (\S+), the one this account runs at\..*",
     "La liste de prix {0} est plus récente que {1}, celle qu'utilise ce compte. Ses prix s'appliquent à la prochaine connexion du compte (un changement de licences, un nouveau PBX ou un chargement d'iSC) ; d'ici là, les anciens prix restent valables (R23)."),
    # -------------------------------------------------------------------- field checks (rental/validation.py)
    # The label names the field ("The customer name"); the server's are field paths, kept as they are.
    (r"(.+?) must be text, not (.+)\.",
     "{0:label} doit être du texte, pas {1:type}."),
    (r"(.+?) must be 1 to (\d+) printable characters: it is empty\.",
     "{0:label} doit comporter de 1 à {1} caractères imprimables : le champ est vide."),
    (r"(.+?) must be 1 to (\d+) printable characters: it has (\d+)\.",
     "{0:label} doit comporter de 1 à {1} caractères imprimables : le champ en compte {2}."),
    (r"(.+?) must be 1 to (\d+) printable characters on one line: it holds a line break, tab or other control character\.",
     "{0:label} doit comporter de 1 à {1} caractères imprimables sur une seule ligne : le champ contient un saut de ligne, une tabulation ou un autre caractère de contrôle."),
    (r"(.+?) holds a character that is not Unicode text \(a lone UTF-16 surrogate\): send it as valid UTF-8\.",
     "{0:label} contient un caractère qui n'est pas du texte Unicode (un demi-code UTF-16 isolé) : envoyez-le en UTF-8 valide."),
    (r"(.+?) ('.*'|\".*\") is not an e-mail address: write it like name@example\.com\.",
     "{0:label} {1} n'est pas une adresse e-mail : écrivez-la comme nom@exemple.com."),
    (r"(.+?) is too long for a firmware version such as 13r2sr5\.",
     "{0:label} est trop long pour une version de firmware comme 13r2sr5."),
    (r"(.+?) must be 'en' or 'fr', not (.+)\.",
     "{0:label} doit valoir « en » ou « fr », pas {1:type}."),
    (r"(.+?) must be true or false, not (.+)\.",
     "{0:label} doit valoir vrai ou faux, pas {1:type}."),
    (r"(.+?) must be 1 to 64 letters, digits, '\.', '_', ':' or '-' \(a UUID will do\)\.",
     "{0:label} doit comporter de 1 à 64 lettres, chiffres, « . », « _ », « : » ou « - » (un UUID convient)."),
    (r"(.+?) must be a UUID such as (\S+)\.",
     "{0:label} doit être un UUID comme {1}."),
    (r"(.+?) must be a whole number, not (.+)\.",
     "{0:label} doit être un nombre entier, pas {1:type}."),
    (r"(.+?) must be a whole number from 0 to (\d+) \((.*) is out of range\)\.",
     "{0:label} doit être un nombre entier de 0 à {1} ({2} est hors limites)."),
    # -------------------------------------------------------------------- the app's own checks (app/checks.py, services)
    (r"PBX (.*) runs in the cloud, which needs the cloud contract \(R7\)\. Move or remove that PBX first, then end the contract\.",
     "Le PBX {0} fonctionne dans le cloud, ce qui exige le contrat cloud (R7). Déplacez ou retirez d'abord ce PBX, puis mettez fin au contrat."),
    (r"Mode (.*) is unknown: a PBX is either '?rental'? or '?purchased'?\.",
     "Le mode {0} est inconnu : un PBX est soit en location (rental), soit acheté (purchased)."),
    (r"PBX (.*) of this account already has serial (.*): check the serial number\.",
     "Le PBX {0} de ce compte a déjà le numéro de série {1} : vérifiez le numéro de série."),
    (r"Nothing to change: edit at least one field\.",
     "Rien à changer : modifiez au moins un champ."),
    (r"This change is still queued: it has no server answer to resolve yet\.",
     "Ce changement est encore en attente : il n'a pas encore de réponse du serveur à trancher."),
    (r"No price list on this laptop yet: sync once while online, then set licenses\.",
     "Aucune liste de prix sur cet ordinateur : synchronisez une fois en ligne, puis choisissez les licences."),
    (r"Account (.*) is deleted \(or its deletion is queued\): it can no longer change\. Discard the queued deletion to keep it\.",
     "Le compte {0} est supprimé (ou sa suppression est en attente) : il ne peut plus changer. Abandonnez la suppression en attente pour le garder."),
    # -------------------------------------------------------------------- amounts as typed (rental/money.py)
    (r"No amount given: type a number of iSC, e\.g\. 12\.5",
     "Aucun montant : saisissez un nombre d'iSC, par ex. 12,5"),
    (r"(.*) is negative: iSC amounts are never negative",
     "{0} est négatif : un montant d'iSC n'est jamais négatif"),
    (r"(.*) mixes separators oddly: write it as 1234\.5 or 1234,5",
     "{0} mélange les séparateurs : écrivez 1234,5 ou 1234.5"),
    (r"(.*) is not an amount of iSC: type digits with at most one decimal mark, e\.g\. 12\.5",
     "{0} n'est pas un montant d'iSC : saisissez des chiffres avec au plus une virgule, par ex. 12,5"),
    (r"(.*) is not an amount of iSC",
     "{0} n'est pas un montant d'iSC"),
    (r"(.*) has more than 3 decimals: the smallest amount is 0\.001 iSC",
     "{0} a plus de 3 décimales : le plus petit montant est 0,001 iSC"),
    (r"(.*) is more than ([\d,]+) iSC: check the amount for a typo",
     "{0} dépasse {1:int} iSC : vérifiez le montant"),
    (r"The (.*) is negative \((.*) milli-iSC\): iSC amounts are never negative",
     "Le montant ({0}) est négatif ({1} milli-iSC) : un montant d'iSC n'est jamais négatif"),
    (r"The (.*) is more than ([\d,]+) iSC: check it for a typo",
     "Le montant ({0}) dépasse {1:int} iSC : vérifiez-le"),
    # -------------------------------------------------------------------- activation keys as typed (rental/signing.py)
    (r"this key is not genuine or was mistyped",
     "cette clé n'est pas authentique ou a été mal saisie"),
    (r"this key is not genuine or was mistyped \(unknown key version (\d+)\)",
     "cette clé n'est pas authentique ou a été mal saisie (version de clé inconnue : {0})"),
    (r"this key is not genuine or was mistyped \(it names signing key (.*), which is not trusted here\)",
     "cette clé n'est pas authentique ou a été mal saisie (elle désigne la clé de signature {0}, qui n'est pas reconnue ici)"),
    (r"this key is not genuine or was mistyped \(it claims (\d+) milli-iSC; a key holds 0\.001 to ([\d,]+) iSC\)",
     "cette clé n'est pas authentique ou a été mal saisie (elle annonce {0} milli-iSC ; une clé contient de 0,001 à {1:int} iSC)"),
    (r"the key is incomplete or has extra characters: check it was copied whole",
     "la clé est incomplète ou contient des caractères en trop : vérifiez qu'elle a été copiée en entier"),
    (r"an activation key starts with ISC1-: check it was copied whole",
     "une clé d'activation commence par ISC1- : vérifiez qu'elle a été copiée en entier"),
    (r"an activation key is text, not (.*)",
     "une clé d'activation est un texte, pas {0:type}"),
    (r"the key cannot contain (.*) \(character (\d+)\) \(an activation key never contains U\)",
     "la clé ne peut pas contenir {0} (caractère {1}) (une clé d'activation ne contient jamais de U)"),
    (r"the key cannot contain (.*) \(character (\d+)\)",
     "la clé ne peut pas contenir {0} (caractère {1})"),
    # -------------------------------------------------------------------- the license server's refusals (license_server/ops.py)
    (r"No price list is published yet: the vendor must publish one first\.",
     "Aucune liste de prix n'est encore publiée : l'éditeur doit d'abord en publier une."),
    (r"PBX (\S+) is not registered on this account: register it first, or sync to see the account's PBXs\.",
     "Le PBX {0} n'est pas enregistré sur ce compte : enregistrez-le d'abord, ou synchronisez pour voir les PBX du compte."),
    (r"PBX (\S+) changed meanwhile \(revision (\d+), this change was made on revision (\d+)\): sync, review it and redo the change\.",
     "Le PBX {0} a changé entre-temps (révision {1} ; ce changement a été fait sur la révision {2}) : synchronisez, vérifiez-le et refaites le changement."),
    (r"No such account: create it first \(create_account\), or check the account_id\.",
     "Compte inconnu : créez-le d'abord (create_account), ou vérifiez l'account_id."),
    (r"This account cannot be changed with your credentials\.",
     "Ce compte ne peut pas être modifié avec vos identifiants."),
    (r"This account was deleted: its iSC were forfeited and it takes no more changes \(R13\)\.",
     "Ce compte a été supprimé : ses iSC sont perdus et il n'accepte plus de changement (R13)."),
    (r"An account with this account_id exists already: make a new UUID for a new account\.",
     "Un compte avec cet account_id existe déjà : créez un nouvel UUID pour un nouveau compte."),
    (r"update_account changes nothing: give name, contact_email, cloud_contract or language\.",
     "update_account ne change rien : indiquez name, contact_email, cloud_contract ou language."),
    (r"PBX (\S+) runs rented licenses in the cloud, which needs the cloud contract\. End its rent or move it to VMware, Hyper-V or vendor hardware first\.",
     "Le PBX {0} fait tourner des licences louées dans le cloud, ce qui exige le contrat cloud. Mettez d'abord fin à sa location ou déplacez-le vers VMware, Hyper-V ou du matériel du fabricant."),
    (r"PBX (\S+) is registered on this account already: use update_pbx to change it\.",
     "Le PBX {0} est déjà enregistré sur ce compte : utilisez update_pbx pour le modifier."),
    (r"update_pbx changes nothing: give name, firmware, platform or hardware_model\.",
     "update_pbx ne change rien : indiquez name, firmware, platform ou hardware_model."),
    (r"This activation key cannot be used: (.*)\. Check it against the printed key\.",
     "Cette clé d'activation ne peut pas être utilisée : {0:reason}. Comparez-la à la clé imprimée."),
    (r"This key would raise the balance beyond what one account can hold: use the credit first or load it on another account\.",
     "Cette clé porterait le solde au-delà de ce qu'un compte peut contenir : utilisez d'abord le crédit ou chargez-la sur un autre compte."),
    (r"This activation key was redeemed before: each key loads credit once\. Use another key\.",
     "Cette clé d'activation a déjà été utilisée : chaque clé ne charge du crédit qu'une fois. Utilisez une autre clé."),
    (r"The account holds (.*) now: deleting it forfeits them for good\. To confirm, send confirm_forfeit_milli = (\d+) \(not (.*)\)\.",
     "Le compte contient {0:amount} à présent : le supprimer les fait perdre pour de bon. Pour confirmer, envoyez confirm_forfeit_milli = {1} (et non {2})."),
    (r"update_account\.auto_reload_days must be 0 \(automatic reload off\), 14 or 28 \(days of runtime left when a held key is redeemed\), not (.*)\.",
     "update_account.auto_reload_days vaut 0 (recharge automatique désactivée), 14 ou 28 (jours d'autonomie restants quand une clé déposée est utilisée), et non {0}."),
    (r"withdraw_key\.key_id must be the hex id of a held key \(up to (\d+) hex digits\), as the account's deposits list it\.",
     "withdraw_key.key_id doit être l'identifiant hexadécimal d'une clé déposée (jusqu'à {0} chiffres hexadécimaux), tel que la liste des dépôts du compte l'indique."),
    (r"Platform (.*) is unknown: one of (.*)\.",
     "La plateforme {0} est inconnue : choisissez parmi {1}."),
    # -------------------------------------------------------------------- why a sync did not complete (app/sync.py)
    (r"The license server did not answer in time: the changes stay queued and are sent again later \(each is applied once\)\.",
     "Le serveur de licences n'a pas répondu à temps : les changements restent en attente et seront renvoyés plus tard (chacun n'est appliqué qu'une fois)."),
    (r"The license server cannot be reached \((\w+)\): working offline; the changes stay queued\.",
     "Le serveur de licences est injoignable ({0}) : travail hors ligne ; les changements restent en attente."),
    (r"The license server answered (\d+) with something that is not JSON: the changes stay queued\.",
     "Le serveur de licences a répondu {0} avec autre chose que du JSON : les changements restent en attente."),
    (r"The license server's answer is not a JSON object: refused\.",
     "La réponse du serveur de licences n'est pas un objet JSON : elle est refusée."),
    (r"The license server said (\S+) \((\d+)\): (.*?) ?Check the technician token in Settings\.",
     "Le serveur de licences a répondu {0} ({1}) : {2:reason} Vérifiez le jeton de technicien dans les Réglages."),
    (r"The license server said (\S+) \((\d+)\): (.*)",
     "Le serveur de licences a répondu {0} ({1}) : {2:reason}"),
    (r"The server's answer was refused, nothing of it was believed: (.*)\.",
     "La réponse du serveur a été refusée, rien n'en a été retenu : {0:reason}."),
    (r"Sync failed unexpectedly: (.*)",
     "La synchronisation a échoué de façon inattendue : {0}"),
    # -------------------------------------------------------------------- answers the app refused (app/replica.py) and price lists (rental/pricing.py)
    (r"Price list refused: (.*)",
     "Liste de prix refusée : {0:reason}"),
    (r"Price list (\S+) refused: it is older than (\S+), held here\.",
     "Liste de prix {0} refusée : elle est plus ancienne que {1}, conservée ici."),
    (r"A price list must be a JSON object with 'version' and 'items'\.",
     "Une liste de prix doit être un objet JSON avec « version » et « items »."),
    (r"The price list needs a 'version': a non-empty text of at most 64 characters\.",
     "La liste de prix doit avoir une « version » : un texte non vide de 64 caractères au plus."),
    (r"'published_at' must be whole UTC seconds \(an integer ≥ 0\)\.",
     "« published_at » doit être en secondes UTC entières (un entier ≥ 0)."),
    (r"The price list needs 'items': a non-empty list of items\.",
     "La liste de prix doit avoir des « items » : une liste d'articles non vide."),
    (r"Item #(\d+) \((.*)\) appears twice: each reference once\.",
     "L'article n° {0} ({1}) apparaît deux fois : chaque référence une seule fois."),
    (r"Item #(\d+)(.*?) must be an object with ref, name, category, monthly_milli\.",
     "L'article n° {0}{1} doit être un objet avec ref, name, category, monthly_milli."),
    (r"Item #(\d+)(.*?) has no valid 'ref' \(letters, digits, '-', '\.', up to 40 characters\)\.",
     "L'article n° {0}{1} n'a pas de « ref » valide (lettres, chiffres, « - », « . », 40 caractères au plus)."),
    (r"Item #(\d+)(.*?) needs a '(name|category)'\.",
     "L'article n° {0}{1} doit avoir un « {2} »."),
    (r"Item #(\d+)(.*?): 'monthly_milli' is a float; prices are whole milli-iSC \(e\.g\. 1234 for 1\.234 iSC\)\.",
     "L'article n° {0}{1} : « monthly_milli » est un nombre décimal ; les prix sont en milli-iSC entiers (par ex. 1234 pour 1,234 iSC)."),
    (r"Item #(\d+)(.*?): 'monthly_milli' must be a whole number of milli-iSC ≥ 0\.",
     "L'article n° {0}{1} : « monthly_milli » doit être un nombre entier de milli-iSC ≥ 0."),
    (r"Item #(\d+)(.*?): 'rentable' must be true or false\.",
     "L'article n° {0}{1} : « rentable » doit valoir vrai ou faux."),
    (r"Item #(\d+)(.*?): 'note' must be text\.",
     "L'article n° {0}{1} : « note » doit être du texte."),
]
_FRENCH_COMPILED = [(re.compile(p, re.DOTALL), t) for p, t in _FRENCH]
_FIELD = re.compile(r"\{(\d+)(?::(\w+))?\}")

#: The words app/checks.py names form fields with (rental/validation.py messages start with them).
FIELD_LABELS_FR = {
    "The customer name": "Le nom du client", "The PBX name": "Le nom du PBX", "The name": "Le nom",
    "The contact e-mail": "L'adresse e-mail de contact", "The cloud contract": "Le contrat cloud",
    "The language": "La langue", "The serial number": "Le numéro de série",
    "The hardware model": "Le modèle de matériel", "The firmware": "Le firmware",
    "The signatory's name": "Le nom du signataire",
}
#: rental.validation.type_name's words.
TYPE_NAMES_FR = {"an object": "un objet", "a list": "une liste", "text": "du texte", "true/false": "vrai/faux",
                 "a number": "un nombre", "a decimal number": "un nombre décimal", "null": "null"}


def _amount_in_french(text: str) -> str:
    """An amount the core formatted in English, re-formatted the French way."""
    try:
        return fmt_milli(parse_isc(text))
    except (AmountError, TypeError):
        return text


def _whole_in_french(text: str) -> str:
    """A whole number the core grouped with commas ("1,000,000"), grouped the French way."""
    digits = text.replace(",", "")
    return fmt_number(int(digits)) if digits.isascii() and digits.isdecimal() else text


_CONVERT = {
    None: lambda text: text,
    "amount": _amount_in_french,
    "int": _whole_in_french,
    "label": lambda text: FIELD_LABELS_FR.get(text, text),
    "type": lambda text: TYPE_NAMES_FR.get(text, text),
    "reason": lambda text: _french(text) or text,  # a reason quoted inside another one
}


def _french(message: str) -> str | None:
    """The French of an English reason, or None when no pattern knows it."""
    for pattern, template in _FRENCH_COMPILED:
        match = pattern.fullmatch(message)
        if match:
            groups = match.groups()
            return _FIELD.sub(lambda m: _CONVERT[m.group(2)](groups[int(m.group(1))] or ""), template)
    return None


def french_pattern_of(message: str) -> str | None:
    """The pattern that translates message (tests use it to catch an English text changed under the UI)."""
    for pattern, _template in _FRENCH_COMPILED:
        if pattern.fullmatch(message.strip()):
            return pattern.pattern
    return None


def reason_text(reason) -> str:
    """A reason (rule, code, params) in the UI's language, from its code's template in the catalog (never from
    its English words); the app's own problems without a code still go through translate_reason."""
    def part(name):
        return reason.get(name) if isinstance(reason, dict) else getattr(reason, name, None)

    code = part("code")
    template = template_of(code) if code else None
    if template is None:
        return translate_reason(part("message") or str(reason), part("rule"))
    params = dict(part("params") or {})
    if isinstance(params.get("detail"), str):  # a field or key check's own words (not yet reasons as data)
        params["detail"] = translate_reason(params["detail"]).rstrip(".")
    return render(code, params, gettext(template), amount=fmt_milli, moment=fmt_moment)


def reasons_text(reasons, message: str | None = None, rule: str | None = None) -> str:
    """Every problem of a refusal, each in the UI's language; the message when none is known as data."""
    if reasons:
        return " ".join(reason_text(reason) for reason in reasons)
    return translate_reason(message, rule)


def translate_reason(message: str | None, rule: str | None = None) -> str:
    """A reason from the core or the server in the UI's language (English is the original)."""
    if not message:
        return ""
    message = str(message)
    if language() != "fr":
        return message
    return _french(message.strip()) or message


def clock_notice_lines(notice) -> list[str]:
    """What to tell the technician about the laptop's clock (issue 8), worded here from the notice's numbers.

    ``notice`` is a services.ClockNotice; its English ``message`` is not shown, so French reads as French.
    Only an offset learned from signed answers moves money (app/clock.py corrected()): the words say so.
    """
    if notice is None:
        return []
    lines = []
    offset = int(notice.offset_s or 0)
    if abs(offset) > NOTICE_OFFSET_S:
        span, when = fmt_span(offset), fmt_moment(notice.learned_at)
        if notice.source == DATE:
            lines.append(gettext(
                "This laptop's clock seems %(span)s behind the license server's (read at the last sync, %(when)s, "
                "from its Date header, which is not signed). It is not used for money: the figures follow the "
                "laptop's clock until a sync brings signed times. Set the laptop's clock.", span=span, when=when)
                if offset > 0 else gettext(
                "This laptop's clock seems %(span)s ahead of the license server's (read at the last sync, %(when)s, "
                "from its Date header, which is not signed). It is not used for money: the figures follow the "
                "laptop's clock until a sync brings signed times. Set the laptop's clock.", span=span, when=when))
        else:
            lines.append(gettext(
                "This laptop's clock is %(span)s behind the license server's (learned at the last sync, %(when)s, "
                "from its signed answers). Balances, end dates and the second a suspension starts are counted in "
                "the server's time, so they stay right; set the laptop's clock to avoid confusion.",
                span=span, when=when) if offset > 0 else gettext(
                "This laptop's clock is %(span)s ahead of the license server's (learned at the last sync, %(when)s, "
                "from its signed answers). Balances, end dates and the second a suspension starts are counted in "
                "the server's time, so they stay right; set the laptop's clock to avoid confusion.",
                span=span, when=when))
    if notice.went_back_s:
        lines.append(gettext(
            "This laptop's clock went back by %(span)s since it was last used. The figures stay at the latest time "
            "already shown (a charge is never undone); check the laptop's clock, then sync to learn the server's "
            "time again.", span=fmt_span(notice.went_back_s)))
    return lines


def status_label(code: str | None) -> str:
    return str(STATUS.get(code or "", code or ""))


def platform_label(code: str | None) -> str:
    return str(PLATFORM.get(code or "", code or ""))


def mode_label(code: str | None) -> str:
    return str(MODE.get(code or "", code or ""))


def kind_label(code: str | None) -> str:
    return str(KIND.get(code or "", code or ""))


def rule_title(rule: str | None) -> str:
    return str(RULE_TITLE.get(rule or "", ""))


def urgency(status: str | None, remaining_seconds: int | None) -> str:
    """ok / warn / danger: under 30 days (R14's horizon) warns, under 7 days or suspended is urgent."""
    if status == "suspended":
        return "danger"
    if remaining_seconds is None:
        return "ok"
    if remaining_seconds < 7 * 86_400:
        return "danger"
    if remaining_seconds < 30 * 86_400:
        return "warn"
    return "ok"


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        rule_message=translate_reason, reason=reason_text, reasons=reasons_text, clock_notice_lines=clock_notice_lines, status_label=status_label, platform_label=platform_label,
        mode_label=mode_label, kind_label=kind_label, rule_title=rule_title,
    )
    app.jinja_env.globals.update(urgency=urgency, PLATFORM=PLATFORM, MODE=MODE)

