from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length

from crm.auth import messages
from crm.i18n import _l


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    remember = BooleanField(_l("Keep me signed in for 7 days"))


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100)])


# The password policy itself is in the services (crm.auth.passwords), which give the reasons.
class NewPasswordForm(FlaskForm):
    """A forced reset's new password, asked twice: a typo here would need an administrator again."""

    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)],
                                 render_kw={"autocomplete": "new-password"})
    confirm_password = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=messages.PASSWORDS_DIFFER)],
        render_kw={"autocomplete": "new-password"},
    )


class PasswordChangeForm(NewPasswordForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})


class ProfileForm(FlaskForm):
    """The user's own language, time zone and mail signature (issue #17); choices are filled
    by the view (the zones this machine knows)."""

    language = SelectField(_l("Language"), choices=[], validate_choice=False)
    time_zone = SelectField(_l("Time zone"), choices=[], validate_choice=False)
    signature = TextAreaField(_l("Email signature"), validators=[Length(max=2000)],
                              render_kw={"rows": 4})
