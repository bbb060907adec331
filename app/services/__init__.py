"""The use cases the screens call (DESIGN §6), over a unit of work and a clock: setup, reads, writes,
conflicts and sync, one module each; this package is their one face (error types and view models included)."""

from __future__ import annotations

from types import ModuleType as _ModuleType

from ..clock import ClockNotice  # noqa: F401
from ..errors import FIELD_OF_CODE, NeedsConfirmation, NotFound, RuleViolation, on_form  # noqa: F401
from ..store import Store, StoreError, StoreExists, StoreMissing, UnitOfWork, WeakPassphrase, WrongPassphrase  # noqa: F401
from ..views import (  # noqa: F401  (every view model is part of this face)
    Figures,
    DepositView,
    LicenseLine,
    PbxView,
    OpView,
    ReapplyReview,
    AccountSummary,
    AccountView,
    LicensePreview,
    TermsAcceptance,
    AccountRef,
    PricelistNotice,
    BurnDown,
    StatementRow,
    StatementView,
    HeldKey,
    CreditRow,
    RefusalView,
    ResultView,
    SyncStatus,
    SettingsView,
    QueuedOp,
    SyncReport,
    KeyFingerprint,
    MeterView,
    FINAL_RULES,
)
from .common import HistoryView  # noqa: F401
from .setup import (
    is_initialised,
    initialise,
    unlock,
    change_passphrase,
    get_settings,
    set_settings,
    trusted_key_fingerprints,
    export_backup,
    import_backup,
)  # noqa: F401
from .reads import (
    AccountList,
    LIST_PAGE,
    list_accounts,
    queued_ops,
    account_detail,
    HISTORY_SHOWN,
    account_history,
    meter,
    pbx_detail,
    current_pricelist,
    pricelist_notice,
    pricelist_notices,
    burn_down,
    statement,
    sync_status,
)  # noqa: F401
from .writes import (
    queue,
    create_account,
    update_account,
    register_pbx,
    update_pbx,
    preview_licenses,
    set_licenses,
    remove_pbx,
    load_key,
    deposit_key,
    KeyPreview,
    preview_key,
    withdraw_key,
    set_auto_reload,
    KeyUse,
    key_use,
    delete_account,
)  # noqa: F401
from .conflicts import REVIEWED, Changed, needs_review, resolve, review_reapply  # noqa: F401
from .syncing import SYNC_STEPS, sync_now, BackgroundSyncer, pull_details, renew_customer_link  # noqa: F401
from .setup import InsecureServerUrl  # noqa: F401

#: This face: every name imported above (errors, view models, use cases), nothing private.
__all__ = sorted(name for name, value in dict(globals()).items()
                 if not name.startswith("_") and name != "annotations" and not isinstance(value, _ModuleType))
