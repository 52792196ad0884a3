from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import (BooleanField, DateField, DecimalField, EmailField, IntegerField, SelectField, SelectMultipleField,
                     StringField, TextAreaField, widgets)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from caas.events.webhooks import EVENT_TYPES
from caas.tenancy.apikeys import SCOPES
from caas.tenancy.tiers import SERVICES, TIER_QUOTAS


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class ClientIdentityForm(FlaskForm):
    legal_name = StringField("Legal name", validators=[DataRequired(), Length(max=200)])
    display_name = StringField("Display name", validators=[DataRequired(), Length(max=120)])
    slug = StringField("Portal slug", validators=[DataRequired(), Length(min=3, max=63)],
                       description="The borrower portal lives at /c/<slug>/")
    country = StringField("Country (ISO 3166, e.g. NG)", validators=[DataRequired(), Length(min=2, max=2)])
    currency = StringField("Default currency (ISO 4217, e.g. NGN)", validators=[DataRequired(), Length(min=3, max=3)])
    brand_colour = StringField("Brand colour", default="#0d6efd", validators=[DataRequired()])
    logo = FileField("Logo (PNG or JPEG, at most 1 MB)", validators=[FileAllowed(["png", "jpg", "jpeg"])])


class ClientTierForm(FlaskForm):
    tier = SelectField("Tier", choices=[(t.value, t.value.title()) for t in TIER_QUOTAS])
    quota_api_calls_per_hour = IntegerField("API calls per hour (override)", validators=[Optional(), NumberRange(min=1)])
    quota_applications_per_month = IntegerField("Applications per month (override)",
                                                validators=[Optional(), NumberRange(min=1)])


class ClientServicesForm(FlaskForm):
    services = MultiCheckboxField("Enabled services", choices=list(SERVICES.items()))


class PersonForm(FlaskForm):
    full_name = StringField("Full name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("E-mail", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])


class PolicyForm(FlaskForm):
    currencies = StringField("Currencies (comma-separated ISO codes)", validators=[DataRequired()])
    min_amount = DecimalField("Minimum amount", places=None, validators=[DataRequired()])
    max_amount = DecimalField("Maximum amount", places=None, validators=[DataRequired()])
    allowed_terms = StringField("Allowed terms in months (comma-separated)", validators=[DataRequired()])
    max_debt_to_income = DecimalField("Maximum debt-to-income (0–1)", places=None, validators=[DataRequired()])
    min_age = IntegerField("Minimum age", validators=[DataRequired()])
    auto_decline_below_grade = SelectField("Auto-decline grades worse than", choices=[(g, g) for g in "ABCDE"])
    bidding_window_hours = IntegerField("Bidding window (hours)", validators=[DataRequired()])
    acceptance_window_hours = IntegerField("Time to accept after bidding closes (hours)", default=48,
                                           validators=[Optional()])
    write_off_days_past_due = IntegerField("Write off after days past due", validators=[DataRequired()])
    reference_annual_rate = DecimalField("Reference annual rate (%)", places=None, validators=[DataRequired()])
    late_fee = DecimalField("Late fee per missed instalment (0 for none)", places=None, default=0,
                            validators=[Optional()])
    penalty_annual_rate = DecimalField("Penalty interest a year on overdue principal (%; 0 for none)", places=None,
                                       default=0, validators=[Optional()])
    overpayment = SelectField("Money left over when a loan is repaid", default="refund", choices=[
        ("refund", "Refund it to the borrower's bank account"), ("hold_credit", "Hold it as a credit")])
    require_identity_verification = BooleanField(
        "Require identity verification: check the BVN or NIN against the registry before scoring "
        "(a mismatch is referred to a person)")


class ProviderForm(FlaskForm):
    legal_name = StringField("Legal name", validators=[DataRequired(), Length(max=200)])
    licence_number = StringField("Licence number", validators=[DataRequired(), Length(max=80)])
    country = StringField("Country (ISO 3166, e.g. NG)", validators=[DataRequired(), Length(min=2, max=2)])
    currencies = StringField("Currencies (comma-separated ISO codes)", validators=[DataRequired()])
    contact_name = StringField("Contact name", validators=[Optional(), Length(max=200)])
    contact_email = EmailField("Contact e-mail", validators=[Optional(), Email(check_deliverability=False)])
    contact_phone = StringField("Contact phone", validators=[Optional(), Length(max=40)])
    user_name = StringField("First user's name", validators=[DataRequired(), Length(max=200)])
    user_email = EmailField("First user's e-mail", validators=[DataRequired(), Email(check_deliverability=False)])


class NetworkForm(FlaskForm):
    providers = MultiCheckboxField("Providers in this client's network", choices=[])


class StatusForm(FlaskForm):
    reason = TextAreaField("Reason", validators=[DataRequired(), Length(max=500)])


class ApiKeyForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=80)])
    mode = SelectField("Mode", choices=[("sandbox", "Sandbox"), ("live", "Live")])
    scopes = MultiCheckboxField("Scopes", choices=[(s, s) for s in SCOPES], default=list(SCOPES))


class WebhookForm(FlaskForm):
    url = StringField("URL", validators=[DataRequired(), Length(max=500)])
    events = MultiCheckboxField("Events", choices=[(e, e) for e in EVENT_TYPES])


class ConfirmForm(FlaskForm):
    """A form with only the CSRF token, for buttons that change state."""


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    actor = StringField("Actor (id or role)", validators=[Optional()])
    action = StringField("Action", validators=[Optional()])
    client = StringField("Tenant (slug)", validators=[Optional()])
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])


class BillingRunForm(FlaskForm):
    period = StringField("Month (YYYY-MM)", validators=[DataRequired(), Length(min=7, max=7)])
    client = StringField("Only this client (slug)", validators=[Optional(), Length(max=63)])


class InvoicePaymentForm(FlaskForm):
    reference = StringField("Bank reference of the payment", validators=[DataRequired(), Length(max=100)])
    paid_on = DateField("Received on", validators=[Optional()])


class ReasonForm(FlaskForm):
    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)])


class BillingTermsForm(FlaskForm):
    tax_rate = StringField("Tax on invoices (%)", validators=[DataRequired(), Length(max=10)])
    payment_terms_days = IntegerField("Payment terms (days)", validators=[DataRequired(message="Enter a number of days."),
                                                                          NumberRange(min=0, max=365)])


class PriceOverrideForm(FlaskForm):
    metric = SelectField("Metric", choices=[])
    effective_from = StringField("From month (YYYY-MM)", validators=[DataRequired(), Length(min=7, max=7)])
    unit_price = StringField("Price (major units)", validators=[DataRequired(), Length(max=20)])
    per_units = IntegerField("Per units", default=1, validators=[DataRequired(), NumberRange(min=1)])
    percent = StringField("Plus % of the amount (payments)", default="0", validators=[Optional(), Length(max=10)])
    included_units = IntegerField("Included units a month", default=0, validators=[Optional(), NumberRange(min=0)])
