"""Configuration classes. The environment is read here and only here, and only when a
class is instantiated by ``create_app`` (never at import time)."""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _share(raw: str, name: str) -> Decimal:
    """A share between 0 and 1 (``0.5``), or a ValueError naming the variable."""
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"{name} must be a number between 0 and 1, not {raw!r}") from None
    if not value.is_finite() or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number between 0 and 1, not {raw!r}")
    return value


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


class ConfigError(RuntimeError):
    """A setting the chosen configuration needs is missing. The message says what to set, in
    one line: the command line prints it as is (``Error: ...``)."""


def _persistent_secret_key(instance_dir: Path) -> str:
    """A development key generated once and kept under instance/, so sessions survive restarts
    without anyone committing a secret."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    key_file = instance_dir / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


class Config:
    """Production defaults. ``SECRET_KEY`` must come from the environment."""

    DEPLOYMENT = "production"  # development | testing in the classes below (startup warnings)

    def __init__(self) -> None:
        env = os.environ
        self.INSTANCE_DIR = Path(env.get("CRM_INSTANCE_DIR", INSTANCE_DIR))
        self.SQLALCHEMY_DATABASE_URI = self._database_url(env.get("DATABASE_URL"))
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        self.SECRET_KEY = env.get("SECRET_KEY") or self._missing_secret_key()
        # Sessions and the remember cookie: short-lived, never readable by scripts.
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _env_bool("COOKIE_SECURE", True)
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.REMEMBER_COOKIE_DURATION = timedelta(days=7)
        self.PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
        self.MAX_CONTENT_LENGTH = int(env.get("MAX_UPLOAD_BYTES", 50 * 1024 * 1024))
        self.WTF_CSRF_TIME_LIMIT = None  # tied to the session instead of a wall clock
        # Strict-Transport-Security on https requests (0: never sent); TRUSTED_PROXY_COUNT: how
        # many reverse proxies' X-Forwarded-* headers to believe (crm.app._trust_proxies).
        self.HSTS_SECONDS = int(env.get("HSTS_SECONDS", 365 * 24 * 3600))
        self.TRUSTED_PROXY_COUNT = int(env.get("TRUSTED_PROXY_COUNT", 0))
        # Where rate limits count (crm.extensions.CrmLimiter): every limit but the in-process
        # ones below holds across web processes in Redis (redis://...) or the database
        # (crm-database://; automatic on PostgreSQL). crm-memory:// (the default) is process
        # memory (crm.extensions.SweptMemoryStorage: memory:// without a timer thread started
        # per rate-limited request), exact for SQLite's single process.
        self.RATELIMIT_STORAGE_URI = env.get("RATELIMIT_STORAGE_URI", "crm-memory://")
        # Always in process memory: the tracking pixel, click and page-view limits, generous
        # flood guards on the hottest paths, where a shared store would add a round trip a hit.
        self.RATELIMIT_IN_PROCESS_BLUEPRINTS = ("email_hits", "site_hits")
        self.RATELIMIT_ENABLED = True
        self.LOGIN_RATE_LIMIT = env.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour")
        self.API_RATE_LIMIT = env.get("API_RATE_LIMIT", "600 per minute")
        # Per client address: requests whose Authorization header authenticates no one.
        self.API_AUTH_FAILURE_RATE_LIMIT = env.get("API_AUTH_FAILURE_RATE_LIMIT", "20 per minute")
        # Public booking links (per IP): viewing slots, and booking / cancelling / moving.
        self.MEETING_SLOTS_RATE_LIMIT = env.get("MEETING_SLOTS_RATE_LIMIT", "120 per minute")
        self.MEETING_BOOKING_RATE_LIMIT = env.get("MEETING_BOOKING_RATE_LIMIT", "30 per minute;300 per hour")
        # Outbound mail.
        self.SMTP_HOST = env.get("SMTP_HOST", "127.0.0.1")
        self.SMTP_PORT = int(env.get("SMTP_PORT", 25))
        self.SMTP_SECURITY = env.get("SMTP_SECURITY", "none")  # none | starttls | ssl
        self.SMTP_USERNAME = env.get("SMTP_USERNAME")
        self.SMTP_PASSWORD = env.get("SMTP_PASSWORD")
        self.MAIL_FROM_DOMAIN = env.get("MAIL_FROM_DOMAIN", "crm.localhost")
        # smtp: deliver through SMTP_*; file: write .eml files under instance/sent-mail/
        self.MAIL_TRANSPORT = env.get("MAIL_TRANSPORT", "smtp")
        self.SMTP_TIMEOUT = float(env.get("SMTP_TIMEOUT", 30))
        # Absolute base for links in emails and invites (tracking, unsubscribe, booking).
        self.PUBLIC_BASE_URL = env.get("PUBLIC_BASE_URL", "http://localhost:5000").rstrip("/")
        # DKIM signing of outgoing mail (crm/mail/outbound/dkim.py): all three or none.
        self.MAIL_DKIM_KEY_PATH = env.get("MAIL_DKIM_KEY_PATH", "")
        self.MAIL_DKIM_SELECTOR = env.get("MAIL_DKIM_SELECTOR", "")
        self.MAIL_DKIM_DOMAIN = env.get("MAIL_DKIM_DOMAIN", "")
        self.INBOUND_MAIL_SECRET = env.get("INBOUND_MAIL_SECRET")
        # External calendar feeds may only be fetched from public addresses unless this is set.
        self.CALENDAR_FEED_ALLOW_PRIVATE = _env_bool("CALENDAR_FEED_ALLOW_PRIVATE", False)
        # In-app alerts: how often open pages poll /alerts/poll (milliseconds).
        self.ALERTS_POLL_INTERVAL_MS = int(env.get("ALERTS_POLL_INTERVAL_MS", 4000))
        # Tracking (public endpoints, per client address).
        self.TRACKING_PIXEL_RATE_LIMIT = env.get("TRACKING_PIXEL_RATE_LIMIT", "1200 per minute")
        self.TRACKING_COLLECT_RATE_LIMIT = env.get("TRACKING_COLLECT_RATE_LIMIT", "300 per minute")
        self.TRACKING_FORM_RATE_LIMIT = env.get("TRACKING_FORM_RATE_LIMIT", "10 per minute;100 per day")
        self.TRACKING_ORIGIN_CACHE_SECONDS = float(env.get("TRACKING_ORIGIN_CACHE_SECONDS", 5))
        # Opens, clicks and page views are queued by the web process and turned into events by
        # the worker every two seconds; inline processing is for tests and tiny installs.
        self.TRACKING_PROCESS_INLINE = _env_bool("TRACKING_PROCESS_INLINE", False)
        # PostgreSQL: queueing a hit does not wait for the WAL flush (see crm/tracking/inbox.py).
        self.TRACKING_ASYNC_COMMIT = _env_bool("TRACKING_ASYNC_COMMIT", True)
        self.TRACKING_HOT_PAGES = tuple(
            p.strip() for p in env.get("TRACKING_HOT_PAGES", "pricing,demo,quote,contact-sales,buy").split(",")
            if p.strip()
        )
        # Mail feature (crm/mail): per-mailbox defaults, the send tick, inbound handling.
        self.MAIL_DAILY_CAP = int(env.get("MAIL_DAILY_CAP", 500))
        self.MAIL_MIN_GAP_SECONDS = int(env.get("MAIL_MIN_GAP_SECONDS", 30))
        self.MAIL_CLAIM_TIMEOUT_SECONDS = int(env.get("MAIL_CLAIM_TIMEOUT_SECONDS", 300))
        self.MAIL_SEND_BATCH = int(env.get("MAIL_SEND_BATCH", 100))
        self.MAIL_SEND_INTERVAL_SECONDS = int(env.get("MAIL_SEND_INTERVAL_SECONDS", 5))
        self.MAIL_MAX_ATTEMPTS = int(env.get("MAIL_MAX_ATTEMPTS", 8))
        self.MAIL_RETRY_BASE_SECONDS = int(env.get("MAIL_RETRY_BASE_SECONDS", 60))
        # PostgreSQL: commit each "sent" mark without waiting for its WAL flush. Faster, but a
        # database-server crash can then lose the last marks and resend those messages.
        self.MAIL_ASYNC_COMMIT = _env_bool("MAIL_ASYNC_COMMIT", False)
        self.MAIL_COLLEAGUE_REPLY_STOPS = _env_bool("MAIL_COLLEAGUE_REPLY_STOPS", True)
        self.MAIL_INBOUND_MAX_BYTES = int(env.get("MAIL_INBOUND_MAX_BYTES", 10 * 1024 * 1024))
        self.MAIL_INBOUND_RATE_LIMIT = env.get("MAIL_INBOUND_RATE_LIMIT", "120 per minute")
        self.MAIL_UNSUBSCRIBE_RATE_LIMIT = env.get("MAIL_UNSUBSCRIBE_RATE_LIMIT", "30 per minute")
        self.MAIL_IMAP_POLL_SECONDS = int(env.get("MAIL_IMAP_POLL_SECONDS", 60))
        self.MAIL_IMAP_FIRST_POLL_DAYS = int(env.get("MAIL_IMAP_FIRST_POLL_DAYS", 2))
        self.MAIL_IMAP_BATCH = int(env.get("MAIL_IMAP_BATCH", 200))
        # Mailboxes polled at once; each read waits at most TIMEOUT, a whole mailbox at most BUDGET.
        self.MAIL_IMAP_CONCURRENCY = int(env.get("MAIL_IMAP_CONCURRENCY", 4))
        self.MAIL_IMAP_TIMEOUT_SECONDS = float(env.get("MAIL_IMAP_TIMEOUT_SECONDS", 20))
        self.MAIL_IMAP_MAILBOX_BUDGET_SECONDS = float(env.get("MAIL_IMAP_MAILBOX_BUDGET_SECONDS", 120))
        # Fernet keys for mailbox passwords, newest first, comma-separated; unset: derived from
        # SECRET_KEY (crm/mail/credentials.py, README "Inbound mail").
        self.MAIL_CREDENTIALS_KEY = env.get("MAIL_CREDENTIALS_KEY")
        # Background work: the worker process runs the scheduler; development can run it
        # inside the web process instead.
        self.SCHEDULER_IN_PROCESS = _env_bool("SCHEDULER_IN_PROCESS", False)
        self.PASSWORD_HASH_PROFILE = "rfc9106_low_memory"
        self.API_PAGE_SIZE_MAX = 200
        # PostgreSQL: the database time one web request may use, in ms (0: unlimited); the
        # worker, CLI and scheduler are never limited (crm/web/budget.py).
        self.REQUEST_STATEMENT_TIMEOUT_MS = int(env.get("REQUEST_STATEMENT_TIMEOUT_MS", 10000))
        # A running background job whose worker has been silent this long is taken for dead
        # and claimed again, resuming after its last checkpoint (crm/jobs/runner.py).
        self.BACKGROUND_JOB_STALE_MINUTES = int(env.get("BACKGROUND_JOB_STALE_MINUTES", 10))
        self.IMPORT_BATCH_SIZE = int(env.get("IMPORT_BATCH_SIZE", 1000))
        # An upload import whose worker has been silent this long (minutes, fractions allowed)
        # is claimed again and resumes after its last committed batch; the running worker
        # stamps a heartbeat every quarter of it (crm/imports/jobs.py).
        self.IMPORT_STALE_MINUTES = float(env.get("IMPORT_STALE_MINUTES", 0.75))
        # Sequences: pause length for an out-of-office without a return date, the wait before
        # retrying a soft-bounced step, and before retrying a step that failed to render.
        self.SEQUENCE_PAUSE_DEFAULT_DAYS = int(env.get("SEQUENCE_PAUSE_DEFAULT_DAYS", 14))
        self.SEQUENCE_SOFT_BOUNCE_RETRY_HOURS = int(env.get("SEQUENCE_SOFT_BOUNCE_RETRY_HOURS", 24))
        self.SEQUENCE_RETRY_MINUTES = int(env.get("SEQUENCE_RETRY_MINUTES", 60))
        # Bulk enrollment: up to this many contacts the request enrolls them itself; more go to
        # the worker, which commits them in chunks (crm/sequences/bulk.py).
        self.SEQUENCE_BULK_SYNC_MAX = int(env.get("SEQUENCE_BULK_SYNC_MAX", 100))
        self.SEQUENCE_BULK_CHUNK = int(env.get("SEQUENCE_BULK_CHUNK", 50))
        # Calls: queue sizing, contacts' calling hours (their local time), click-to-call
        # (e.g. "https://dialer.example.com/call?to={phone}"; empty: tel: links).
        self.CALLS_PER_HOUR = int(env.get("CALLS_PER_HOUR", 12))
        self.CALLING_HOURS = tuple(env.get("CALLING_HOURS", "09:00-18:00").split("-", 1))
        self.CALL_RECENT_CONTACT_DAYS = int(env.get("CALL_RECENT_CONTACT_DAYS", 7))
        self.CALL_DIALER_URL_TEMPLATE = env.get("CALL_DIALER_URL_TEMPLATE", "")
        self.CALL_FEED_RATE_LIMIT = env.get("CALL_FEED_RATE_LIMIT", "60 per minute")
        # Call recordings (crm/recordings): the largest upload (413 beyond; an hour of 16 kHz
        # stereo WAV is 230 MB, of 8 kHz 115 MB) and where files are kept (default
        # <instance>/recordings; recordings attached before are read from <instance>/call-recordings).
        # Tracked documents and videos (crm/documents): where uploads and rendered pages live,
        # the upload limits, and the public viewer's rate limits (per client address).
        self.DOCUMENTS_DIR = Path(env["DOCUMENTS_DIR"]) if env.get("DOCUMENTS_DIR") else self.INSTANCE_DIR / "documents"
        self.DOCUMENT_MAX_BYTES = int(env.get("DOCUMENT_MAX_BYTES", 50 * 1024 * 1024))
        self.VIDEO_MAX_BYTES = int(env.get("VIDEO_MAX_BYTES", 500 * 1024 * 1024))
        self.DOCUMENTS_VIEWER_RATE_LIMIT = env.get("DOCUMENTS_VIEWER_RATE_LIMIT", "600 per minute")
        self.DOCUMENTS_FORWARD_RATE_LIMIT = env.get("DOCUMENTS_FORWARD_RATE_LIMIT", "10 per minute;100 per day")
        self.RECORDING_MAX_BYTES = int(env.get("RECORDING_MAX_BYTES", 200 * 1024 * 1024))
        self.RECORDINGS_DIR = Path(env["RECORDINGS_DIR"]) if env.get("RECORDINGS_DIR") else \
            self.INSTANCE_DIR / "recordings"
        # Targets (crm/targets): how the published plan is split over reps (the weighted
        # pipeline's share of the blend, the rest from wins in the last N days), the currency of
        # the plan's revenue, and the slack (a share of the month's capacity) that counts as
        # spare capacity for the call-queue boost. Checked here, so a typo fails at start.
        self.TARGETS_PIPELINE_SHARE = str(_share(env.get("TARGETS_PIPELINE_SHARE", "0.5"), "TARGETS_PIPELINE_SHARE"))
        self.TARGETS_WIN_WINDOW_DAYS = int(env.get("TARGETS_WIN_WINDOW_DAYS", 90))
        self.TARGETS_SPARE_CAPACITY_SHARE = str(
            _share(env.get("TARGETS_SPARE_CAPACITY_SHARE", "0.10"), "TARGETS_SPARE_CAPACITY_SHARE"))

    def _database_url(self, url: str | None) -> str:
        if not url:
            self.INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
            return f"sqlite:///{self.INSTANCE_DIR / 'crm.sqlite3'}"
        # Accept the common postgres:// spellings and use psycopg 3.
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix):]
        return url

    def _missing_secret_key(self) -> str | None:
        raise ConfigError(
            "SECRET_KEY must be set in the environment in production (or run with CRM_CONFIG=development)"
        )


class ConfigWithoutSecrets(Config):
    """The production settings with a missing ``SECRET_KEY`` left as None instead of refused.
    Only for the app ``wsgi.py`` builds so that ``flask --app wsgi ... --help`` can list the
    commands on a machine without secrets (``crm.app.create_help_app``); that app serves no
    request and runs none of the CRM's commands. Not in ``CONFIGS``: nobody can select it."""

    def _missing_secret_key(self) -> None:
        return None


class DevConfig(Config):
    """Local development: SQLite under instance/, a generated secret key, the scheduler
    in-process, cookies over plain http."""

    DEPLOYMENT = "development"

    def __init__(self) -> None:
        super().__init__()
        self.SESSION_COOKIE_SECURE = _env_bool("COOKIE_SECURE", False)
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.SCHEDULER_IN_PROCESS = _env_bool("SCHEDULER_IN_PROCESS", True)
        # The demo holds real-looking addresses: never deliver them from a laptop.
        self.MAIL_TRANSPORT = os.environ.get("MAIL_TRANSPORT", "file")

    def _missing_secret_key(self) -> str:
        return _persistent_secret_key(self.INSTANCE_DIR)


class TestConfig(Config):
    """The test suite: ``TEST_DATABASE_URL`` picks the database (SQLite file by default)."""

    TESTING = True
    DEPLOYMENT = "testing"
    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        super().__init__()
        url = os.environ.get("TEST_DATABASE_URL")
        self.SQLALCHEMY_DATABASE_URI = self._database_url(url) if url else "sqlite:///" + str(
            Path(os.environ.get("TEST_SQLITE_DIR", "/tmp")) / f"crm-test-{os.getpid()}.sqlite3"
        )
        self.SECRET_KEY = "test-secret-key"
        self.SESSION_COOKIE_SECURE = False
        self.REMEMBER_COOKIE_SECURE = False
        self.WTF_CSRF_ENABLED = True
        self.SCHEDULER_IN_PROCESS = False
        self.IMPORT_BATCH_SIZE = 500
        self.PASSWORD_HASH_PROFILE = "test"
        self.INBOUND_MAIL_SECRET = "test-inbound-secret"
        self.CALENDAR_FEED_ALLOW_PRIVATE = True  # the tests serve feeds from 127.0.0.1
        self.PUBLIC_BASE_URL = "http://crm.example.com"
        self.TRACKING_ORIGIN_CACHE_SECONDS = 0  # tables are emptied between tests
        self.TRACKING_PROCESS_INLINE = True
        # the demo's and the tests' recordings, outside the repository's instance/
        self.RECORDINGS_DIR = Path(os.environ.get("TEST_SQLITE_DIR", "/tmp")) / f"crm-test-recordings-{os.getpid()}"
        self.DOCUMENTS_DIR = Path(os.environ.get("TEST_SQLITE_DIR", "/tmp")) / f"crm-test-documents-{os.getpid()}"

    def _missing_secret_key(self) -> str:
        return "test-secret-key"


CONFIGS = {"production": Config, "development": DevConfig, "testing": TestConfig}
