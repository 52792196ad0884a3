from flask_wtf import FlaskForm
from wtforms import (DateTimeLocalField, DecimalField, IntegerField, RadioField, SelectField, SelectMultipleField,
                     StringField, widgets)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from caas.credit.applications import PURPOSES


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class CriteriaForm(FlaskForm):
    name = StringField("Name of this set", validators=[DataRequired(), Length(max=80)])
    currencies = StringField("Currencies (comma-separated ISO codes)", validators=[DataRequired()])
    min_amount = DecimalField("Smallest amount", places=None, validators=[DataRequired()])
    max_amount = DecimalField("Largest amount", places=None, validators=[DataRequired()])
    min_term_months = IntegerField("Shortest term (months)", validators=[DataRequired()])
    max_term_months = IntegerField("Longest term (months)", validators=[DataRequired()])
    worst_grade = SelectField("Worst acceptable grade", choices=[(g, g) for g in "ABCDE"], default="C")
    max_pd = DecimalField("Highest probability of default (0–1, optional)", places=None, validators=[Optional()])
    purposes = MultiCheckboxField("Purposes (none ticked: any)", choices=[(p, p.capitalize()) for p in PURPOSES])
    countries = StringField("Countries (comma-separated, empty: any)", validators=[Optional()])
    client_ids = MultiCheckboxField("Clients (none ticked: every client in your network)", choices=[])


class BidForm(FlaskForm):
    annual_rate = DecimalField("Nominal annual rate (%)", places=None,
                               validators=[InputRequired(message="Enter the yearly rate, e.g. 28.5.")])
    fee_kind = RadioField("Origination fee as", choices=[("amount", "an amount"), ("percent", "% of the amount")],
                          default="percent")
    fee = DecimalField("Origination fee", places=None, default=0, validators=[Optional()])
    term_months = SelectField("Term", coerce=int, choices=[])
    valid_until = DateTimeLocalField("Valid until (UTC)", format="%Y-%m-%dT%H:%M",
                                     validators=[DataRequired(message="Choose until when the offer stands.")])


class FilterForm(FlaskForm):
    class Meta:
        csrf = False

    currency = StringField("Currency", validators=[Optional(), Length(max=3)])
    worst_grade = SelectField("Grade at worst", choices=[("", "any")] + [(g, g) for g in "ABCDE"],
                              validators=[Optional()])
    purpose = SelectField("Purpose", choices=[("", "any")] + [(p, p.capitalize()) for p in PURPOSES],
                          validators=[Optional()])
    term_months = IntegerField("Term", validators=[Optional(), NumberRange(1, 360)])
    sort = SelectField("Sort", choices=[("newest", "Newest"), ("closing", "Closing soonest"),
                                        ("amount", "Largest amount"), ("grade", "Best grade")], default="newest")
