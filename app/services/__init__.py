"""The use cases the screens call (DESIGN §6), over a unit of work and a clock: setup, reads, writes,
conflicts and sync, one module each; this package is their one face (error types and view models included).

The face is loaded on first use (issue 25): importing this package costs nothing, so the screens' modules can
name it at the top while the window's first page (unlock) paints before SQLAlchemy and the store's machinery
are imported. The first name asked for imports the whole face, once.
"""

from __future__ import annotations

from types import ModuleType as _ModuleType

_loaded = False


def _face() -> dict:
    """Every name of the face (errors, view models, use cases), imported."""
    from ..clock import ClockNotice  # noqa: F401
    from ..errors import FIELD_OF_CODE, ChangedMeanwhile, NeedsConfirmation, NotFound, RuleViolation, on_form  # noqa: F401
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
        SummaryShown,
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
        NoticeList,
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
        pbx_removal,
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
        crossings,
        remove_pbx,
        load_key,
        deposit_key,
        KeyPreview,
        KeyShown,
        KEY_OUTCOMES,
        key_crossings,
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

    return {name: value for name, value in locals().items() if not isinstance(value, _ModuleType)}


def _load() -> None:
    """Bind the face's names here. Two threads may both load it: imports are thread-safe and bind the same
    objects, and a name once bound (or replaced by a test) is never looked up here again."""
    global _loaded, __all__
    if not _loaded:
        face = _face()
        for name, value in face.items():
            globals().setdefault(name, value)
        #: This face: every name imported by _face (errors, view models, use cases), nothing private.
        __all__ = sorted(face)
        _loaded = True


def __getattr__(name: str):
    """A face's name, importing the face on first use (PEP 562: called only for names not yet bound)."""
    if not _loaded and not (name.startswith("__") and name != "__all__"):
        _load()
        return globals()[name] if name in globals() else __getattr__(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    _load()
    return sorted(globals())
