"""The use cases the screens call (DESIGN §6), over a unit of work and a clock: setup, reads, writes,
conflicts and sync, one module each; this package is their one face (error types and view models included)."""

from __future__ import annotations

from ..clock import ClockNotice  # noqa: F401
from ..errors import FIELD_OF_CODE, NeedsConfirmation, NotFound, Problem, Refused  # noqa: F401
from ..store import Store, StoreError, StoreExists, StoreMissing, UnitOfWork, WeakPassphrase, WrongPassphrase  # noqa: F401
from ..views import (  # noqa: F401  (every view model is part of this face)
    Figures, DepositView, LicenseLine, PbxView, OpView, AccountSummary, AccountView, LicensePreview, AccountRef, PricelistNotice, BurnDown, StatementRow, StatementView, HeldKey, CreditRow, RefusalView, ResultView, SyncStatus, SettingsView, QueuedOp, SyncReport, KeyFingerprint, MeterView, FINAL_RULES,
)
from .common import HistoryView  # noqa: F401
from .setup import is_initialised, initialise, unlock, change_passphrase, get_settings, set_settings, trusted_key_fingerprints, export_backup, import_backup  # noqa: F401
from .reads import AccountList, LIST_PAGE, list_accounts, queued_ops, account_detail, HISTORY_SHOWN, account_history, meter, pbx_detail, current_pricelist, pricelist_notice, pricelist_notices, burn_down, statement, sync_status  # noqa: F401
from .writes import create_account, update_account, register_pbx, update_pbx, preview_licenses, set_licenses, remove_pbx, redeem_key, deposit_key, KeyPreview, preview_key, withdraw_key, set_auto_reload, KeyUse, key_use, delete_account  # noqa: F401
from .conflicts import resolve  # noqa: F401
from .syncing import sync_now, BackgroundSyncer  # noqa: F401
from .setup import InsecureServerUrl  # noqa: F401

__all__ = [
    # errors
    "Refused", "NeedsConfirmation", "NotFound", "StoreError", "StoreExists", "StoreMissing", "WeakPassphrase",
    "WrongPassphrase", "InsecureServerUrl",
    # views
    "Problem", "Figures", "LicenseLine", "PbxView", "OpView", "AccountSummary", "AccountView", "LicensePreview",
    "PricelistNotice", "BurnDown", "StatementRow", "StatementView", "CreditRow", "RefusalView", "SyncStatus",
    "SettingsView",
    "QueuedOp", "SyncReport", "KeyFingerprint", "ResultView", "ClockNotice", "AccountRef", "DepositView",
    # setup
    "is_initialised", "initialise", "unlock", "change_passphrase", "get_settings", "set_settings",
    "trusted_key_fingerprints",
    # reads
    "list_accounts", "account_detail", "meter", "pbx_detail", "current_pricelist", "pricelist_notice", "pricelist_notices",
    "burn_down", "statement", "sync_status", "queued_ops",
    # writes
    "create_account", "update_account", "register_pbx", "update_pbx", "preview_licenses", "set_licenses",
    "remove_pbx", "redeem_key", "deposit_key", "withdraw_key", "set_auto_reload", "preview_key", "KeyPreview",
    "delete_account", "resolve", "key_use", "KeyUse",
    # sync
    "sync_now", "BackgroundSyncer",
    # backup
    "export_backup", "import_backup",
]
