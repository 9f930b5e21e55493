import pytest

from config import Config, DevConfig


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        Config()


def test_production_cookies_are_secure_httponly_samesite_and_short_lived(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.delenv("COOKIE_SECURE", raising=False)
    config = Config()
    assert config.SESSION_COOKIE_SECURE and config.REMEMBER_COOKIE_SECURE
    assert config.SESSION_COOKIE_HTTPONLY and config.REMEMBER_COOKIE_HTTPONLY
    assert config.REMEMBER_COOKIE_SAMESITE == "Lax"
    assert config.REMEMBER_COOKIE_DURATION.days <= 7


def test_database_url_overrides_sqlite_and_selects_psycopg(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("CRM_INSTANCE_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert Config().SQLALCHEMY_DATABASE_URI == f"sqlite:///{tmp_path / 'crm.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.internal:5432/crm")
    assert Config().SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://u@db.internal:5432/crm"
    monkeypatch.setenv("DATABASE_URL", "sqlite:////srv/crm.db")
    assert Config().SQLALCHEMY_DATABASE_URI == "sqlite:////srv/crm.db"


def test_development_generates_and_keeps_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("CRM_INSTANCE_DIR", str(tmp_path))
    first = DevConfig().SECRET_KEY
    assert len(first) >= 32
    assert DevConfig().SECRET_KEY == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_remember_me_cookie_is_httponly_and_samesite(client, alice):
    from tests.conftest import PASSWORD, csrf_from

    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": alice.email, "password": PASSWORD,
                                            "remember": "y", "csrf_token": token})
    remember = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token=")]
    assert remember and "HttpOnly" in remember[0] and "SameSite=Lax" in remember[0]


def test_import_stale_minutes_is_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("CRM_INSTANCE_DIR", str(tmp_path))
    assert Config().IMPORT_STALE_MINUTES == 0.75  # resumed within a minute by default
    monkeypatch.setenv("IMPORT_STALE_MINUTES", "0.5")
    assert Config().IMPORT_STALE_MINUTES == 0.5
