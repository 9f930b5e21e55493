"""Configuration classes. The environment is read here and only here, and only when a
class is instantiated by ``create_app`` (never at import time)."""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


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
        # Rate limits are shared across processes through Redis in production;
        # the embedded default keeps them in memory.
        self.RATELIMIT_STORAGE_URI = env.get("RATELIMIT_STORAGE_URI", "memory://")
        self.RATELIMIT_ENABLED = True
        self.LOGIN_RATE_LIMIT = env.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour")
        self.API_RATE_LIMIT = env.get("API_RATE_LIMIT", "600 per minute")
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
        self.INBOUND_MAIL_SECRET = env.get("INBOUND_MAIL_SECRET")
        # Background work: the worker process runs the scheduler; development can run it
        # inside the web process instead.
        self.SCHEDULER_IN_PROCESS = _env_bool("SCHEDULER_IN_PROCESS", False)
        self.PASSWORD_HASH_PROFILE = "rfc9106_low_memory"
        self.API_PAGE_SIZE_MAX = 200
        self.IMPORT_BATCH_SIZE = int(env.get("IMPORT_BATCH_SIZE", 1000))

    def _database_url(self, url: str | None) -> str:
        if not url:
            self.INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
            return f"sqlite:///{self.INSTANCE_DIR / 'crm.sqlite3'}"
        # Accept the common postgres:// spellings and use psycopg 3.
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix):]
        return url

    def _missing_secret_key(self) -> str:
        raise RuntimeError("SECRET_KEY must be set in the environment in production")


class DevConfig(Config):
    """Local development: SQLite under instance/, a generated secret key, the scheduler
    in-process, cookies over plain http."""

    def __init__(self) -> None:
        super().__init__()
        self.SESSION_COOKIE_SECURE = _env_bool("COOKIE_SECURE", False)
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.SCHEDULER_IN_PROCESS = _env_bool("SCHEDULER_IN_PROCESS", True)
        # The demo holds real-looking addresses: never deliver them from a laptop.
        self.MAIL_TRANSPORT = env.get("MAIL_TRANSPORT", "file")

    def _missing_secret_key(self) -> str:
        return _persistent_secret_key(self.INSTANCE_DIR)


class TestConfig(Config):
    """The test suite: ``TEST_DATABASE_URL`` picks the database (SQLite file by default)."""

    TESTING = True
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
        self.PUBLIC_BASE_URL = "http://crm.example.com"

    def _missing_secret_key(self) -> str:
        return "test-secret-key"


CONFIGS = {"production": Config, "development": DevConfig, "testing": TestConfig}
