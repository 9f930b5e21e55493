from sqlalchemy import select

from crm.auth.models import User
from crm.auth.services import user_for_api_token
from crm.extensions import db
from tests.conftest import NOW, PASSWORD


def test_create_user_reads_the_password_from_stdin(app):
    result = app.test_cli_runner().invoke(
        args=["crm", "create-user", "New.Rep@Acme-Sales.com", "--role", "rep", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "new.rep@acme-sales.com"))
    assert user.role == "rep" and user.password_hash.startswith("$argon2id$")


def test_create_user_refuses_a_weak_password_with_the_reason(app):
    result = app.test_cli_runner().invoke(
        args=["crm", "create-user", "x@acme-sales.com", "--role", "admin", "--password-stdin"],
        input="password\n",
    )
    assert result.exit_code != 0
    assert "at least 12 characters" in result.output
    assert db.session.scalar(select(User.id)) is None


def test_create_user_with_manager(app, mallory):
    result = app.test_cli_runner().invoke(
        args=["crm", "create-user", "r@acme-sales.com", "--role", "rep", "--manager", mallory.email,
              "--password-stdin"], input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User).where(User.email == "r@acme-sales.com")).manager_id == mallory.id


def test_create_token_prints_a_working_token_on_its_own_line(app, alice):
    result = app.test_cli_runner().invoke(args=["crm", "create-token", alice.email])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert user_for_api_token(lines[0], NOW).id == alice.id


def test_create_token_for_unknown_user_fails_clearly(app):
    result = app.test_cli_runner().invoke(args=["crm", "create-token", "ghost@acme-sales.com"])
    assert result.exit_code != 0 and "no user" in result.output
