from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, HiddenField, DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms import SelectMultipleField, widgets
from wtforms.validators import DataRequired, Length, Optional

from caas.credit.applications import PURPOSES
from caas.credit.documents import KINDS


class ProfileForm(FlaskForm):
    legal_name = StringField("Legal name", validators=[DataRequired(), Length(max=200)])
    date_of_birth = DateField("Date of birth", validators=[DataRequired(message="Enter your date of birth.")])
    phone = StringField("Phone", validators=[DataRequired(), Length(max=32)])
    address = TextAreaField("Address", validators=[DataRequired(), Length(max=400)])
    national_id = StringField("National ID", validators=[DataRequired(), Length(max=40)])
    employment_status = SelectField("Employment status", choices=[
        ("employed", "Employed"), ("self_employed", "Self-employed"), ("unemployed", "Unemployed"),
        ("student", "Student"), ("retired", "Retired")])
    employer = StringField("Employer or business", validators=[Optional(), Length(max=200)])
    months_employed = IntegerField("Months with this employer", validators=[Optional()], default=0)
    monthly_net_income = DecimalField("Monthly net income", places=None, validators=[DataRequired()])
    monthly_expenses = DecimalField("Monthly expenses", places=None, validators=[Optional()], default=0)
    existing_debt_payments = DecimalField("Existing monthly debt payments", places=None, validators=[Optional()],
                                          default=0)
    housing = SelectField("Housing", choices=[("rent", "Rent"), ("own", "Own"), ("free", "Live for free")])


class ConsentForm(FlaskForm):
    data_processing = BooleanField("Data processing")
    credit_check = BooleanField("Credit check")


class DocumentForm(FlaskForm):
    kind = SelectField("Document", choices=list(KINDS.items()))
    file = FileField("File (PDF, JPEG or PNG, at most 10 MB)", validators=[FileRequired("Choose a file.")])


class TermsForm(FlaskForm):
    amount = DecimalField("Amount", places=None, validators=[DataRequired(message="Enter an amount.")])
    currency = SelectField("Currency", choices=[])
    term_months = SelectField("Term (months)", coerce=int, choices=[])
    purpose = SelectField("Purpose", choices=[(p, p.capitalize()) for p in PURPOSES])


class IncomeForm(FlaskForm):
    income_confirmed = BooleanField("My income and expenses above are correct")


class ConfirmForm(FlaskForm):
    """Only the CSRF token, for buttons that change state."""


class AcceptOfferForm(FlaskForm):
    agreement_sha256 = HiddenField()
    consent = BooleanField("I have read the loan agreement above and accept it.")
    typed_name = StringField("Type your full legal name to sign",
                             validators=[DataRequired(message="Type your full legal name to sign."), Length(max=200)])


class BankAccountForm(FlaskForm):
    bank_code = StringField("Bank code", validators=[DataRequired(message="Enter your bank's code, e.g. 058."),
                                                     Length(max=20)])
    account_number = StringField("Account number", validators=[DataRequired(message="Enter the account number."),
                                                               Length(max=34)])
    account_name = StringField("Name on the account", validators=[DataRequired(message="Enter the name on the account."),
                                                                  Length(max=200)])


class PayForm(FlaskForm):
    kind = SelectField("What to pay", choices=[("instalment", "What is due now (or the next instalment)"),
                                               ("partial", "Another amount"), ("payoff", "Pay off the loan today")],
                       default="instalment")
    amount = DecimalField("Amount (for another amount)", places=None, validators=[Optional()])


class HardshipForm(FlaskForm):
    reason = TextAreaField("What has changed?", validators=[DataRequired(message="Tell us in a sentence."),
                                                           Length(max=2000)])
    plan = SelectField("What would help", choices=[("holiday", "A payment holiday"),
                                                   ("extension", "Smaller payments over a longer term")])
    periods = IntegerField("For how many months", default=2, validators=[DataRequired()])


class PreferencesForm(FlaskForm):
    emails = SelectMultipleField("E-mails I want", choices=[], validate_choice=True,
                                 widget=widgets.ListWidget(prefix_label=False), option_widget=widgets.CheckboxInput())
    sms_opt_in = BooleanField("Also text me repayment reminders")
