"""Checks on what an operator types: tax codes, invoicing codes, addresses, IBAN, durations.

Every `check_*` function returns the normalised value (upper-cased, spaces removed, ...)
or raises `ValidationError`, whose message is translated and meant to be shown as is:
it says what is wrong and what is expected.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import cache

from email_validator import EmailNotValidError, validate_email
from schwifty import IBAN
from schwifty.exceptions import (
    InvalidBBANChecksum,
    InvalidChecksumDigits,
    InvalidCountryCode,
    InvalidLength,
    SchwiftyException,
)
from stdnum import luhn
from stdnum.exceptions import InvalidChecksum, InvalidComponent
from stdnum.exceptions import ValidationError as _StdnumError
from stdnum.it import codicefiscale as _cf
from stdnum.it import iva as _iva

from pec_tui.domain.enums import HolderKind, Plan
from pec_tui.domain.enums import label as enum_label
from pec_tui.domain.plans import PLANS
from pec_tui.i18n import _, ngettext

MAX_YEARS = 5
MAX_PROMO_YEARS = 2
SDI_PEC_CODE = "0000000"

# A personal codice fiscale; digits may be replaced by the omocodia letters L-V.
_PERSONAL_CF_RE = re.compile(
    r"[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]"
)
_DIGITS_RE = re.compile(r"[0-9]+")
_ALNUM_RE = re.compile(r"[A-Z0-9]+")
_LETTERS_RE = re.compile(r"[A-Z]+")


class ValidationError(ValueError):
    """A value the operator typed is not acceptable; `field` names the form field at fault."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


def _clean(value: str | None) -> str:
    """Drop every blank (spaces, tabs, newlines) and upper-case plain ASCII text.

    Non-ASCII text is left as typed so that no character (e.g. the Turkish dotless i)
    is turned into an ASCII letter by upper-casing and then accepted.
    """
    text = "".join((value or "").split())
    return text.upper() if text.isascii() else text


def _is(pattern: re.Pattern[str], text: str) -> bool:
    return pattern.fullmatch(text) is not None


# --- Codice fiscale and partita IVA ---------------------------------------------------


def _check_numeric_cf(code: str, field: str) -> str:
    if not luhn.is_valid(code):
        raise ValidationError(
            _(
                "The codice fiscale {code} is not valid: its last digit (check digit) does not "
                "match the others. Check it for typing errors."
            ).format(code=code),
            field,
        )
    return code


def _check_personal_cf(code: str, field: str) -> str:
    if not _is(_PERSONAL_CF_RE, code):
        raise ValidationError(
            _(
                "The codice fiscale {code} is not well formed: a personal codice fiscale is "
                "6 letters, 2 digits, 1 letter, 2 digits, 1 letter, 3 digits and a final "
                "letter (e.g. RSSMRA85T10A562S)."
            ).format(code=code),
            field,
        )
    try:
        _cf.validate(code)
    except InvalidChecksum:
        raise ValidationError(
            _(
                "The codice fiscale {code} is not valid: its last character (check character) "
                "does not match the others. Check it for typing errors."
            ).format(code=code),
            field,
        ) from None
    except _StdnumError:
        raise ValidationError(
            _(
                "The codice fiscale {code} is not valid: it contains an impossible date of birth."
            ).format(code=code),
            field,
        ) from None
    return code


def check_codice_fiscale(value: str) -> str:
    """A personal codice fiscale (16 characters) or the 11-digit one of companies and public bodies."""
    field = "codice_fiscale"
    code = _clean(value)
    if not code:
        raise ValidationError(_("The codice fiscale is required."), field)
    if len(code) == 11 and _is(_DIGITS_RE, code):
        return _check_numeric_cf(code, field)
    if len(code) == 16:
        return _check_personal_cf(code, field)
    if len(code) == 11:
        raise ValidationError(
            _(
                "The codice fiscale {code} is not valid: an 11-character codice fiscale "
                "(companies and public bodies) must be made of digits only."
            ).format(code=code),
            field,
        )
    raise ValidationError(
        ngettext(
            "The codice fiscale must have 16 characters (people) or 11 digits (companies and "
            "public bodies); {count} character was entered.",
            "The codice fiscale must have 16 characters (people) or 11 digits (companies and "
            "public bodies); {count} characters were entered.",
            len(code),
        ).format(count=len(code)),
        field,
    )


def check_partita_iva(value: str) -> str:
    """An Italian partita IVA, with or without the "IT" prefix; returns its 11 digits."""
    field = "partita_iva"
    code = _clean(value)
    if code.startswith("IT"):
        code = code[2:]
    if not code:
        raise ValidationError(_("The partita IVA is required."), field)
    if not _is(_DIGITS_RE, code):
        raise ValidationError(
            _("The partita IVA must contain digits only (an optional IT prefix is allowed)."),
            field,
        )
    if len(code) != 11:
        raise ValidationError(
            ngettext(
                "The partita IVA must have 11 digits; {count} digit was entered.",
                "The partita IVA must have 11 digits; {count} digits were entered.",
                len(code),
            ).format(count=len(code)),
            field,
        )
    try:
        _iva.validate(code)
    except InvalidChecksum:
        raise ValidationError(
            _(
                "The partita IVA {code} is not valid: its last digit (check digit) does not "
                "match the others. Check it for typing errors."
            ).format(code=code),
            field,
        ) from None
    except InvalidComponent:
        raise ValidationError(
            _(
                "The partita IVA {code} is not valid: digits 8 to 10 must be the code of an "
                "Italian tax office (001 to 100, 120, 121, 888 or 999)."
            ).format(code=code),
            field,
        ) from None
    except _StdnumError:
        raise ValidationError(
            _("The partita IVA {code} is not valid: it cannot start with seven zeros.").format(
                code=code
            ),
            field,
        ) from None
    return code


def check_holder_tax_ids(
    kind: HolderKind, codice_fiscale: str | None, partita_iva: str | None
) -> tuple[str | None, str | None]:
    """The codice fiscale and partita IVA the holder type requires, normalised.

    Private person: personal codice fiscale required.
    Sole trader / professional: personal codice fiscale and partita IVA required.
    Company: partita IVA required, codice fiscale optional (11 digits or 16 characters).
    Public administration: 11-digit codice fiscale required, partita IVA optional.
    An optional code that is given is checked all the same.
    """
    kind = HolderKind(kind)
    kind_label = enum_label(kind)
    cf = _clean(codice_fiscale) or None
    piva = _clean(partita_iva) or None

    cf_required = kind is not HolderKind.COMPANY
    piva_required = kind in (HolderKind.SOLE_TRADER, HolderKind.PROFESSIONAL, HolderKind.COMPANY)

    if cf is None:
        if cf_required:
            raise ValidationError(
                _("The codice fiscale is required for the holder type “{kind}”.").format(
                    kind=kind_label
                ),
                "codice_fiscale",
            )
    else:
        cf = check_codice_fiscale(cf)
        if kind is HolderKind.PUBLIC_ADMIN and len(cf) != 11:
            raise ValidationError(
                _(
                    "A public administration has an 11-digit codice fiscale; {code} is the "
                    "codice fiscale of a person."
                ).format(code=cf),
                "codice_fiscale",
            )
        if kind in (HolderKind.PRIVATE, HolderKind.SOLE_TRADER, HolderKind.PROFESSIONAL) and (
            len(cf) != 16
        ):
            raise ValidationError(
                _(
                    "For the holder type “{kind}” enter the personal codice fiscale "
                    "(16 characters, e.g. RSSMRA85T10A562S); {code} is the 11-digit code of a "
                    "company or public body."
                ).format(kind=kind_label, code=cf),
                "codice_fiscale",
            )

    if piva is None:
        if piva_required:
            raise ValidationError(
                _("The partita IVA is required for the holder type “{kind}”.").format(
                    kind=kind_label
                ),
                "partita_iva",
            )
    else:
        piva = check_partita_iva(piva)

    return cf, piva


# --- Electronic invoicing ---------------------------------------------------------------


def check_sdi_code(value: str, billing_pec: str | None = None) -> str:
    """The 7-character SDI recipient code; "0000000" needs the PEC address the invoices go to."""
    field = "sdi_code"
    code = _clean(value)
    if not code:
        raise ValidationError(
            _(
                "The SDI recipient code is required: enter the customer's 7-character code, "
                "or 0000000 together with the PEC address that receives the invoices."
            ),
            field,
        )
    if len(code) != 7 or not _is(_ALNUM_RE, code):
        if len(code) == 6 and _is(_ALNUM_RE, code):
            message = _(
                "The SDI recipient code must have 7 letters or digits; 6-character codes are "
                "the office codes of public administrations."
            )
        else:
            message = _(
                "The SDI recipient code must be 7 letters or digits (e.g. M5UXCR1, or "
                "0000000 with a PEC address); “{code}” was entered."
            ).format(code=code)
        raise ValidationError(message, field)
    if code == SDI_PEC_CODE:
        if not (billing_pec or "").strip():
            raise ValidationError(
                _(
                    "With SDI code 0000000 the invoices are delivered by PEC: enter the PEC "
                    "address that will receive them."
                ),
                "billing_pec",
            )
        try:
            check_pec_address(billing_pec or "")
        except ValidationError as exc:
            raise ValidationError(exc.message, "billing_pec") from None
    return code


def check_pa_office_code(value: str) -> str:
    """The codice univoco ufficio of a public administration: 6 letters or digits."""
    field = "pa_office_code"
    code = _clean(value)
    if not code:
        raise ValidationError(
            _(
                "The office code (codice univoco ufficio) is required for a public "
                "administration: it has 6 letters or digits and is listed on IndicePA."
            ),
            field,
        )
    if len(code) != 6 or not _is(_ALNUM_RE, code):
        raise ValidationError(
            _(
                "The office code (codice univoco ufficio) must be 6 letters or digits "
                "(e.g. UFABCD); “{code}” was entered."
            ).format(code=code),
            field,
        )
    return code


def check_cig(value: str | None) -> str | None:
    """The optional CIG (tender identification code): 10 letters or digits."""
    code = _clean(value)
    if not code:
        return None
    if len(code) != 10 or not _is(_ALNUM_RE, code):
        raise ValidationError(
            _(
                "The CIG must be 10 letters or digits; “{code}” was entered. Leave it empty "
                "if the administration did not give one."
            ).format(code=code),
            "cig",
        )
    return code


def check_cup(value: str | None) -> str | None:
    """The optional CUP (public project code): 15 letters or digits, starting with a letter."""
    code = _clean(value)
    if not code:
        return None
    if len(code) != 15 or not _is(_ALNUM_RE, code) or not _is(_LETTERS_RE, code[0]):
        raise ValidationError(
            _(
                "The CUP must be 15 letters or digits and start with a letter; “{code}” was "
                "entered. Leave it empty if the administration did not give one."
            ).format(code=code),
            "cup",
        )
    return code


# --- Addresses ----------------------------------------------------------------------------


def check_cap(value: str) -> str:
    """The Italian postal code (CAP): 5 digits."""
    code = _clean(value)
    if len(code) != 5 or not _is(_DIGITS_RE, code):
        raise ValidationError(_("The CAP must be 5 digits (e.g. 00184)."), "cap")
    return code


@cache
def italian_provinces() -> frozenset[str]:
    """The abbreviations (sigle) of today's Italian provinces, from python-codicefiscale's data."""
    from codicefiscale.data import get_municipalities_data

    return frozenset(
        m["province"].upper()
        for m in get_municipalities_data()
        if m.get("active") and m.get("province")
    )


def check_province(value: str) -> str:
    """The 2-letter abbreviation (sigla) of an existing Italian province."""
    field = "province"
    code = _clean(value)
    if len(code) != 2 or not _is(_LETTERS_RE, code):
        raise ValidationError(
            _("The province must be its 2-letter abbreviation (e.g. RM, MI, TO)."), field
        )
    if code not in italian_provinces():
        raise ValidationError(
            _(
                "Province {code} does not exist: enter the 2-letter abbreviation of an Italian "
                "province (e.g. RM, MI, TO)."
            ).format(code=code),
            field,
        )
    return code


def _normalized_email(value: str) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def check_email(value: str) -> str:
    """An e-mail address (syntax only; the domain is not looked up)."""
    field = "email"
    if not (value or "").strip():
        raise ValidationError(_("The e-mail address is required."), field)
    address = _normalized_email(value)
    if address is None:
        raise ValidationError(
            _(
                "“{address}” is not a valid e-mail address: expected something like "
                "mario.rossi@example.it."
            ).format(address=value.strip()),
            field,
        )
    return address


def check_pec_address(value: str) -> str:
    """A PEC (certified e-mail) address; only its syntax can be checked."""
    field = "pec"
    if not (value or "").strip():
        raise ValidationError(_("The PEC address is required."), field)
    address = _normalized_email(value)
    if address is None:
        raise ValidationError(
            _(
                "“{address}” is not a valid PEC address: expected something like "
                "mario.rossi@pec.example.it."
            ).format(address=value.strip()),
            field,
        )
    return address


# --- Payments -----------------------------------------------------------------------------


def check_iban(value: str) -> str:
    """An IBAN, including the national check (the CIN letter of Italian IBANs)."""
    field = "iban"
    code = _clean(value)
    if not code:
        raise ValidationError(_("The IBAN is required."), field)
    try:
        return IBAN(code, validate_bban=True).compact
    except InvalidCountryCode:
        message = _(
            "The IBAN {iban} is not valid: it must start with a country code such as IT."
        ).format(iban=code)
    except InvalidLength:
        message = _(
            "The IBAN {iban} has the wrong length ({count} characters; an Italian IBAN has 27)."
        ).format(iban=code, count=len(code))
    except InvalidChecksumDigits:
        message = _(
            "The IBAN {iban} is not valid: its check digits (3rd and 4th characters) do not "
            "match the rest. Check it for typing errors."
        ).format(iban=code)
    except InvalidBBANChecksum:
        message = _(
            "The IBAN {iban} is not valid: the national check character (the CIN, the letter "
            "after the first 4 characters of an Italian IBAN) does not match the bank "
            "details. Check it for typing errors."
        ).format(iban=code)
    except (SchwiftyException, ValueError):
        message = _("The IBAN {iban} is not valid: check for wrong or missing characters.").format(
            iban=code
        )
    raise ValidationError(message, field)


# --- Durations and sizes ------------------------------------------------------------------


def check_years(years: int, promo: bool = False) -> int:
    """The number of years to buy or renew: 1 to 5, or 1 to 2 for promotional mailboxes."""
    field = "years"
    if isinstance(years, bool) or not isinstance(years, int):
        raise ValidationError(_("The duration must be a whole number of years."), field)
    if promo and not 1 <= years <= MAX_PROMO_YEARS:
        raise ValidationError(
            _(
                "A promotional mailbox can be renewed for 1 to {max} years only; {years} "
                "years were requested."
            ).format(max=MAX_PROMO_YEARS, years=years),
            field,
        )
    if not 1 <= years <= MAX_YEARS:
        raise ValidationError(
            _("The duration must be between 1 and {max} years; {years} were requested.").format(
                max=MAX_YEARS, years=years
            ),
            field,
        )
    return years


def check_extra_gb(plan: Plan, extra_mailbox_gb: int, extra_archive_gb: int) -> tuple[int, int]:
    """Extra GB of mailbox and security-archive space, within what `plan` allows."""
    plan = Plan(plan)
    s = PLANS[plan]
    for amount, field in (
        (extra_mailbox_gb, "extra_mailbox_gb"),
        (extra_archive_gb, "extra_archive_gb"),
    ):
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise ValidationError(_("Extra space must be a whole number of GB."), field)
        if amount < 0:
            raise ValidationError(
                _("Extra space cannot be negative; enter 0 for no extra GB."), field
            )
    if extra_mailbox_gb > s.max_extra_mailbox_gb:
        raise ValidationError(
            _(
                "The {plan} plan allows at most {max} extra GB of mailbox space; {gb} were "
                "requested."
            ).format(plan=plan.value, max=s.max_extra_mailbox_gb, gb=extra_mailbox_gb),
            "extra_mailbox_gb",
        )
    if not s.has_archive and extra_archive_gb > 0:
        raise ValidationError(
            _(
                "The {plan} plan has no security archive, so extra archive GB must be 0; "
                "choose PRO or PREMIUM to get an archive."
            ).format(plan=plan.value),
            "extra_archive_gb",
        )
    if extra_archive_gb > s.max_extra_archive_gb:
        raise ValidationError(
            _(
                "The {plan} plan allows at most {max} extra GB of security-archive space; "
                "{gb} were requested."
            ).format(plan=plan.value, max=s.max_extra_archive_gb, gb=extra_archive_gb),
            "extra_archive_gb",
        )
    return extra_mailbox_gb, extra_archive_gb


# --- Generic --------------------------------------------------------------------------------


def check_required(value: str | None, field: str, label: str) -> str:
    """`value` stripped of surrounding blanks; refused when nothing is left."""
    text = (value or "").strip()
    if not text:
        raise ValidationError(_("{label} is required.").format(label=label), field)
    return text


# Days a file or a command may name: wide enough for any real expiry, payment or job day,
# narrow enough that adding years (a renewal) or months (a window) stays inside the calendar.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 12, 31)
# The largest whole number an INTEGER column holds (PostgreSQL's 4-byte integer).
MAX_INTEGER = 2**31 - 1

_ASCII_DAY_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ASCII_WHOLE_RE = re.compile(r"[0-9]+")
# Control characters (NUL, tab, line breaks, escapes), invisible format characters (bidi
# overrides, zero-width spaces), surrogates, private-use and unassigned code points, and the
# Unicode line and paragraph separators: none belongs in a name, a code or a date.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_SHOWN_LENGTH = 40


def hidden_character(value: str) -> tuple[int, str] | None:
    """The first control or invisible character of `value` (1-based position, U+XXXX)."""
    for position, char in enumerate(value, start=1):
        if unicodedata.category(char) in _HIDDEN_CATEGORIES:
            return position, f"U+{ord(char):04X}"
    return None


def shown(value: str, length: int = _SHOWN_LENGTH) -> str:
    """`value` made safe to quote in a message: hidden characters as U+XXXX, cut at `length`."""
    text = "".join(
        f"<U+{ord(char):04X}>" if unicodedata.category(char) in _HIDDEN_CATEGORIES else char
        for char in value[: length + 1]
    )
    return text if len(value) <= length else text[:length] + "…"


def check_plain_text(value: str, field: str, label: str, max_length: int) -> str:
    """Text with no control or invisible character and at most `max_length` characters,
    surrounding blanks removed."""
    text = value.strip()
    if len(text) > max_length:
        raise ValidationError(
            _("{label}: at most {max} characters ({count} given).").format(
                label=label, max=max_length, count=len(text)
            ),
            field,
        )
    hidden = hidden_character(text)
    if hidden is not None:
        raise ValidationError(
            _(
                "{label}: character {position} is a control or invisible character "
                "({code}); remove it."
            ).format(label=label, position=hidden[0], code=hidden[1]),
            field,
        )
    return text


def check_day_in_range(day: date, field: str, label: str) -> date:
    """A day from `EARLIEST_DAY` to `LATEST_DAY`."""
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ValidationError(
            _("{label}: {day} is outside the years {first} to {last}.").format(
                label=label, day=day.isoformat(), first=EARLIEST_DAY.year, last=LATEST_DAY.year
            ),
            field,
        )
    return day


def parse_day(value: str, field: str, label: str) -> date:
    """A day written YYYY-MM-DD in ASCII digits, within `EARLIEST_DAY` .. `LATEST_DAY`."""
    text = value.strip()
    day = None
    if _ASCII_DAY_RE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            day = None
    if day is None:
        raise ValidationError(
            _("{label}: “{value}” is not a date: expected YYYY-MM-DD, e.g. 2027-03-31.").format(
                label=label, value=shown(text)
            ),
            field,
        )
    return check_day_in_range(day, field, label)


def parse_whole(value: str, field: str, label: str, maximum: int = MAX_INTEGER) -> int:
    """A whole number from 0 to `maximum`, written in ASCII digits."""
    text = value.strip()
    if not _ASCII_WHOLE_RE.fullmatch(text):
        raise ValidationError(
            _("{label} must be a whole number, 0 or more; “{value}” was given.").format(
                label=label, value=shown(text)
            ),
            field,
        )
    significant = text.lstrip("0")
    if len(significant) > len(str(maximum)) or int(significant or "0") > maximum:
        raise ValidationError(
            _("{label} must be at most {max}; “{value}” was given.").format(
                label=label, max=maximum, value=shown(text)
            ),
            field,
        )
    return int(significant or "0")


_PHONE_RE = re.compile(r"\+?[0-9][0-9 ./()-]*")


def check_phone(value: str | None) -> str | None:
    """An optional phone number: digits with an optional leading +, spaces and - / . ( ) as
    separators, 6 to 15 digits. Returned with the separators kept as typed, trimmed."""
    text = (value or "").strip()
    if not text:
        return None
    digits = sum(ch.isdigit() for ch in text)
    if not (_PHONE_RE.fullmatch(text) and text.isascii() and 6 <= digits <= 15):
        raise ValidationError(
            _("Phone: digits only (6 to 15), with an optional + in front, e.g. +39 06 1234567."),
            "phone",
        )
    return text


# --- Latin-1 text (what FatturaPA's String…Latin types accept) -----------------------------------------------------------------------------


def latin1(text: str) -> str:
    """`text` with the characters outside Latin-1 transliterated where a plain letter exists
    (Ł → L, č → c, the typographic quotes and dashes → their ASCII forms); any left over stay,
    for the schema to refuse."""
    out: list[str] = []
    for char in text:
        if ord(char) < 256:
            out.append(char)
            continue
        plain = _PUNCTUATION.get(char)
        if plain is None:
            decomposed = unicodedata.normalize("NFKD", char)
            base = "".join(c for c in decomposed if not unicodedata.combining(c))
            plain = base if base and all(ord(c) < 256 for c in base) else _LETTERS.get(char, char)
        out.append(plain)
    return "".join(out)


_PUNCTUATION = {
    "‘": "'",
    "’": "'",
    "‚": ",",
    "“": '"',
    "”": '"',
    "„": '"',
    "–": "-",
    "—": "-",
    "…": "...",
    "€": "EUR",
    "•": "-",
}
_LETTERS = {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Œ": "OE", "œ": "oe", "ı": "i", "Ħ": "H"}


def is_latin1(text: str) -> bool:
    return all(ord(c) < 256 for c in text)


def check_latin1(value: str | None, field: str, label: str) -> str | None:
    """`value` with what can be transliterated into Latin-1 transliterated (the e-invoice
    accepts nothing else); ValidationError when a character has no Latin form."""
    if value is None:
        return None
    text = latin1(value)
    if not is_latin1(text):
        odd = "".join(sorted({c for c in text if ord(c) > 255}))
        raise ValidationError(
            _("{label}: “{chars}” cannot go on an electronic invoice; use Latin letters.").format(
                label=label, chars=odd
            ),
            field,
        )
    return text
