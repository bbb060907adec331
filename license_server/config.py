"""Settings of the license server: from create_app(config), else env LICENSE_SERVER_<KEY> (DESIGN §5)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from rental import rules
from rental.money import SECONDS_PER_DAY

ENV_PREFIX = "LICENSE_SERVER_"


def _cores() -> int:
    """The cores this process may run on (its affinity on Linux, as a container limits it), else the machine's."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


#: Every setting, its default and how to read it from an environment variable.
DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # None: SQLite file in the instance folder
    "INSTANCE_PATH": None,  # None: ./instance
    "SIGNING_KEY_PATH": None,
    "TRUSTED_KEYS_DIR": None,  # more <kid>.pub whose activation keys stay valid after a rotation
    "SMTP_HOST": None,
    "SMTP_PORT": 25,
    "MAIL_FROM": "RentDesk <no-reply@localhost>",
    "MAIL_TIMEZONE": "Europe/Paris",  # R18-R20: the times in customers' mails (an IANA zone name)
    "MIN_CREDIT_DAYS": rules.MIN_CREDIT_DAYS,  # R14
    "RESUME_MIN_DAYS": rules.RESUME_MIN_DAYS,  # R18
    "TOGGLE_WINDOW_S": rules.TOGGLE_WINDOW_S,  # R6
    "TOGGLE_PERIOD_S": rules.TOGGLE_PERIOD_S,  # R6
    "TOGGLE_REFUSE_AT": rules.TOGGLE_REFUSE_AT,  # R6
    "RETENTION_S": rules.RETENTION_S,  # R19
    "RETENTION_WARNING_S": 30 * SECONDS_PER_DAY,  # R19: the customer is mailed this long before credit expires
    "REMINDER_WEEKS": rules.REMINDER_WEEKS,  # R20: weekly reminders from this many weeks before the end
    "REMINDER_LAST_S": rules.REMINDER_LAST_S,  # R20: and one more this long before the end
    "MAX_OPS": 1000,  # ops per /sync batch; more is answered 413
    "MAX_BODY_BYTES": 4 * 1024 * 1024,
    "SWEEP_INTERVAL": None,  # seconds; set to run the sweep in a background thread of each process
    # PostgreSQL: a pass with many stops runs them in this many slices side by side, one connection each (1: one
    # statement); a slice is made for every 1,000 stops at least (license_server.sweep.SLICE_MIN_STOPS)
    "SWEEP_WORKERS": min(4, _cores()),
    "TOKEN_GUESS_LIMIT": 10,  # unknown tokens per address and window before 429 (0: no limit)
    "TOKEN_GUESS_WINDOW_S": 300,
    # reverse proxies in front that append the client's address to X-Forwarded-For (deploy/: nginx, 1); 0 trusts
    # no such header. Behind a proxy every request comes from its address: the guess limits would lock out everyone
    "PROXY_HOPS": 0,
    "TOKEN_RECHECK_S": 2,  # a checked token is trusted this long, then the database is asked again (at most 5 s)
    "METRICS": False,  # true/1: Prometheus text format at /metrics (outside /api/v1); 404 otherwise
    "LOG_FORMAT": "text",  # one line per request: "text" (key=value) or "json"
    "PUBLIC_URL": None,  # R27: the server's address as customers reach it (https://…), for customer links
    "LINK_SECRET": None,  # R27: the key of customer links (32+ characters); None: derived from the signing key
}
MAX_PROXY_HOPS = 5
MAX_SWEEP_WORKERS = 16  # the PostgreSQL pool holds 30 connections per process (license_server.db)
BOOL_KEYS = {"METRICS"}
LOG_FORMATS = ("text", "json")
INT_KEYS = {"SMTP_PORT", "MIN_CREDIT_DAYS", "RESUME_MIN_DAYS", "TOGGLE_WINDOW_S", "TOGGLE_PERIOD_S", "TOGGLE_REFUSE_AT",
            "RETENTION_S", "RETENTION_WARNING_S", "REMINDER_WEEKS", "REMINDER_LAST_S", "MAX_OPS", "MAX_BODY_BYTES",
            "SWEEP_INTERVAL", "SWEEP_WORKERS", "TOKEN_GUESS_LIMIT", "TOKEN_GUESS_WINDOW_S", "TOKEN_RECHECK_S",
            "PROXY_HOPS"}


class SettingsError(ValueError):
    """A setting that cannot be used; the message names it and says what it should be."""


@dataclass(frozen=True)
class Settings:
    """The resolved settings, plus the clock (create_app only) that tests move."""

    values: Mapping[str, Any]
    clock: Callable[[], int]

    def __getattr__(self, key: str) -> Any:
        try:
            return self.values[key]
        except KeyError:
            raise AttributeError(key) from None

    @property
    def policy(self) -> rules.Policy:
        """The "our decision" thresholds of SPEC as the core takes them (R6, R14, R19)."""
        return rules.Policy(
            min_credit_days=self.MIN_CREDIT_DAYS,
            resume_min_days=self.RESUME_MIN_DAYS,
            toggle_window_s=self.TOGGLE_WINDOW_S,
            toggle_period_s=self.TOGGLE_PERIOD_S,
            toggle_refuse_at=self.TOGGLE_REFUSE_AT,
            retention_s=self.RETENTION_S,
            reminder_weeks=self.REMINDER_WEEKS,
            reminder_last_s=self.REMINDER_LAST_S,
        )


def system_clock() -> int:
    """Whole UTC seconds of the server's clock: the one place the server reads the wall clock."""
    return int(time.time())


def log_time() -> float:
    """The wall clock with its fraction, for log lines' timestamps only: money is decided on `clock`. (`time` is
    imported with the module: an import statement in here ran at every request line.)"""
    return time.time()


def monotonic() -> float:
    """The process's monotonic clock, in seconds: how long a checked token is trusted (never money, never CLOCK)."""
    return time.monotonic()


def load_settings(config: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Resolve every setting: config first, then LICENSE_SERVER_<KEY>, then the default."""
    config = dict(config or {})
    environ = os.environ if environ is None else environ
    clock = config.pop("CLOCK", None) or system_clock
    if not callable(clock):
        raise SettingsError("CLOCK must be a callable returning whole UTC seconds")
    values: dict[str, Any] = {}
    for key, default in DEFAULTS.items():
        if key in config:
            value = config[key]
        elif ENV_PREFIX + key in environ and environ[ENV_PREFIX + key] != "":
            value = environ[ENV_PREFIX + key]
        else:
            value = default
        if key in INT_KEYS and value is not None:
            value = _to_int(key, value)
        elif key in BOOL_KEYS:
            value = _to_bool(key, value)
        values[key] = value
    unknown = sorted(set(config) - set(DEFAULTS) - flask_keys())
    if unknown:
        raise SettingsError(f"unknown setting(s) {', '.join(unknown)}: known are {', '.join(DEFAULTS)}, CLOCK, "
                            "and Flask's own (TESTING, DEBUG, …)")
    _check_zone(values["MAIL_TIMEZONE"])
    if values["LOG_FORMAT"] not in LOG_FORMATS:
        raise SettingsError(f"LOG_FORMAT must be text or json, not {values['LOG_FORMAT']!r}")
    _check_link_settings(values)
    if not 1 <= values["SWEEP_WORKERS"] <= MAX_SWEEP_WORKERS:  # each slice holds one of the pool's connections
        raise SettingsError(f"SWEEP_WORKERS must be 1 to {MAX_SWEEP_WORKERS} (1: one statement, more: that many slices "
                            f"side by side, each with its own connection), not {values['SWEEP_WORKERS']}")
    if values["PROXY_HOPS"] > MAX_PROXY_HOPS:
        raise SettingsError(f"PROXY_HOPS must be 0 to {MAX_PROXY_HOPS}: the reverse proxies in front of the server that "
                            f"add the client's address to X-Forwarded-For (nginx alone: 1), not {values['PROXY_HOPS']}")
    if values["TOKEN_RECHECK_S"] > 5:  # DESIGN §5: revocation reaches every process within 5 s
        raise SettingsError(f"TOKEN_RECHECK_S must be 0 to 5 seconds (a revoked token must stop within 5 s), "
                            f"not {values['TOKEN_RECHECK_S']}")
    instance = Path(values["INSTANCE_PATH"] or Path.cwd() / "instance")
    values["INSTANCE_PATH"] = str(instance)
    if not values["DATABASE_URL"]:
        values["DATABASE_URL"] = f"sqlite:///{instance / 'license_server.sqlite3'}"
    return Settings(values, clock)


def flask_keys() -> set[str]:
    """Flask's own configuration keys (TESTING, DEBUG, …): create_app passes them to app.config."""
    from flask import Flask

    return set(Flask.default_config)


def _check_zone(name: Any) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"MAIL_TIMEZONE must be a time zone name such as Europe/Paris, not {name!r}") from None


def _to_bool(key: str, value: Any) -> bool:
    """A switch: True/False in create_app's config; true/1/yes or false/0/no in LICENSE_SERVER_<KEY>."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise SettingsError(f"{ENV_PREFIX}{key} must be true or false (1 or 0), not {value!r}")


def _check_link_settings(values: dict[str, Any]) -> None:
    """R27: PUBLIC_URL is an http(s) address without query or fragment; LINK_SECRET, when set, is long enough."""
    from urllib.parse import urlsplit

    url = values["PUBLIC_URL"]
    if url is not None:
        url = str(url).strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise SettingsError(f"PUBLIC_URL must be the server's address as customers reach it, such as "
                                f"https://licenses.example.com, not {url!r}")
        values["PUBLIC_URL"] = url
    secret = values["LINK_SECRET"]
    if secret is not None and len(str(secret)) < 32:
        raise SettingsError("LINK_SECRET must be at least 32 characters (e.g. the output of "
                            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`), or unset to derive it "
                            "from the signing key")


def _to_int(key: str, value: Any) -> int:
    if isinstance(value, bool) or isinstance(value, float):
        raise SettingsError(f"{key} must be a whole number, not {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{ENV_PREFIX}{key} must be a whole number, not {value!r}") from None
    if number < 0:
        raise SettingsError(f"{key} must not be negative ({number})")
    return number
