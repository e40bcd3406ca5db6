"""The billing details form of `/settings/billing` (name, address, country, tax ID)."""

import unicodedata
from functools import cache
from typing import Any

import babel
from wtforms import Field, SelectField, StringField
from wtforms.validators import AnyOf, Length, ValidationError

from app.billing.details import STRIPE_TAX_ID_TYPES, TAX_ID_TYPES, BillingDetails
from app.forms import Form, strip

# Two-letter codes in CLDR's English territory names that are not countries of ISO 3166-1:
# exceptionally reserved (Ascension, Clipperton, Sark, Diego Garcia, Ceuta and Melilla,
# the Canary Islands, Tristan da Cunha), groupings (EU, eurozone, UN, outlying Oceania)
# and private-use codes. Kosovo (XK) stays: not in ISO 3166-1, but Stripe takes it.
NOT_COUNTRIES = frozenset({"AC", "CP", "CQ", "DG", "EA", "IC", "TA", "EU", "EZ", "UN", "QO",
                           "XA", "XB", "ZZ"})


def _sort_key(name: str) -> str:
    """Åland Islands among the A's, Côte d’Ivoire among the C's."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@cache
def countries() -> tuple[tuple[str, str], ...]:
    """(ISO code, English name) of every country, sorted by name."""
    territories = babel.Locale("en").territories
    found = [(str(code), str(name)) for code, name in territories.items()
             if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES]
    return tuple(sorted(found, key=lambda pair: _sort_key(pair[1])))


def tax_id_words(kind: str) -> str:
    """A Stripe tax ID type the form does not offer, as people say it: "jp_cn" is "Japan
    CN", "eu_oss_vat" "EU OSS VAT" (the country's name, then the ID's initials)."""
    country, _, rest = kind.partition("_")
    names = dict(countries())
    place = "EU" if country == "eu" else names.get(country.upper(), country.upper())
    return f"{place} {rest.replace('_', ' ').upper()}".strip()


def at_most(characters: int) -> Length:
    """Stripe's length limit for a field, said in our words."""
    return Length(max=characters, message=f"Use at most {characters} characters.")


class BillingDetailsForm(Form):
    """Name, address and tax ID, as they go on the user's invoices (saved at Stripe)."""

    name = StringField("Name", filters=[strip], validators=[at_most(150)],
                       description="Yours or your business's, as it should appear on "
                                   "invoices.")
    line1 = StringField("Address line 1", filters=[strip], validators=[at_most(200)])
    line2 = StringField("Address line 2", filters=[strip], validators=[at_most(200)])
    city = StringField("Town or city", filters=[strip], validators=[at_most(100)])
    postal_code = StringField("Postal code", filters=[strip], validators=[at_most(20)])
    country = SelectField("Country", validate_choice=False, validators=[AnyOf(
        ["", *(code for code, _ in countries())], message="Choose a country from the list.")])
    tax_type = SelectField("Tax ID", validate_choice=False, validators=[AnyOf(
        ["", *STRIPE_TAX_ID_TYPES], message="Choose a kind of tax ID from the list.")])
    tax_value = StringField("Tax ID number", filters=[strip], validators=[at_most(64)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = [("", "Choose…"), *countries()]
        self.tax_type.choices = [("", "None"), *((kind, t.label)
                                                 for kind, t in TAX_ID_TYPES.items())]
        # A value Stripe holds that the lists lack (set in Stripe's dashboard) is shown, so
        # the page tells the truth (a tax ID type in words, not Stripe's code); validation
        # decides whether it can be saved.
        for field, words in ((self.country, str), (self.tax_type, tax_id_words)):
            if field.data and field.data not in {value for value, _ in field.choices}:
                field.choices.append((field.data, words(field.data)))

    def validate_tax_type(self, field: Field) -> None:
        if self.tax_value.data and not field.data:
            raise ValidationError("Choose the kind of tax ID, or leave the number empty.")

    def validate_tax_value(self, field: Field) -> None:
        if self.tax_type.data and not field.data:
            raise ValidationError("Enter the tax ID number, or choose None.")

    def details(self) -> BillingDetails:
        """What was sent, as the details to save (a number without a type is no tax ID)."""
        return BillingDetails(
            name=self.name.data or "", line1=self.line1.data or "",
            line2=self.line2.data or "", city=self.city.data or "",
            postal_code=self.postal_code.data or "", country=self.country.data or "",
            tax_type=self.tax_type.data or "",
            tax_value=(self.tax_value.data or "") if self.tax_type.data else "")
