from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=128)])


class SignupForm(FlaskForm):
    full_name = StringField("Full name", validators=[DataRequired(), Length(min=2, max=200)])
    email = EmailField("E-mail", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=12, max=128,
                             message="Use between 12 and 128 characters.")])
    confirm = PasswordField("Repeat password", validators=[DataRequired(), EqualTo("password",
                            message="The passwords do not match.")])


class SetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(min=12, max=128,
                             message="Use between 12 and 128 characters.")])
    confirm = PasswordField("Repeat password", validators=[DataRequired(), EqualTo("password",
                            message="The passwords do not match.")])


class ResetRequestForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])


class ReauthForm(FlaskForm):
    password = PasswordField("Your password", validators=[DataRequired(), Length(max=128)])


class CodeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired(message="Enter the code."), Length(max=40)],
                       render_kw={"autocomplete": "one-time-code", "autocapitalize": "none", "spellcheck": "false"})
