"""The input checks of the domain layer: valid values are normalised, invalid ones refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import iban as stdnum_iban
from stdnum import luhn

from pec_tui import i18n
from pec_tui.domain.enums import HolderKind, Plan
from pec_tui.domain.plans import MAX_EXTRA_GB
from pec_tui.domain.validation import (
    ValidationError,
    check_cap,
    check_cig,
    check_codice_fiscale,
    check_cup,
    check_email,
    check_extra_gb,
    check_holder_tax_ids,
    check_iban,
    check_pa_office_code,
    check_partita_iva,
    check_pec_address,
    check_province,
    check_required,
    check_sdi_code,
    check_years,
    italian_provinces,
)

PERSONAL_CF = "RSSMRA85T10A562S"
NUMERIC_CF = "80078750587"  # an 11-digit codice fiscale of a public body
VALID_PIVA = "0123456058" + luhn.calc_check_digit("0123456058")
BAD_PIVA = VALID_PIVA[:-1] + str((int(VALID_PIVA[-1]) + 1) % 10)
VALID_IBAN = "IT60X0542811101000000123456"


def _iban_with_cin(cin: str) -> str:
    """VALID_IBAN with another CIN letter and IBAN check digits recomputed to match."""
    bban = cin + VALID_IBAN[5:]
    return "IT" + stdnum_iban.calc_check_digits("IT00" + bban) + bban


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted on their English msgids."""
    i18n.set_language("en")
    yield
    i18n.set_language("it")


# --- ValidationError ------------------------------------------------------------------------


def test_validation_error_carries_message_and_field():
    exc = ValidationError("Something is wrong.", "cap")
    assert isinstance(exc, ValueError)
    assert exc.message == "Something is wrong."
    assert exc.field == "cap"
    assert str(exc) == "Something is wrong."
    assert ValidationError("x").field is None


# --- Codice fiscale ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (PERSONAL_CF, PERSONAL_CF),
        ("rssmra85t10a562s", PERSONAL_CF),
        (" RSS MRA 85T10 A562S ", PERSONAL_CF),
        (NUMERIC_CF, NUMERIC_CF),
        ("0243 8750 586", "02438750586"),
    ],
)
def test_codice_fiscale_valid(raw, expected):
    assert check_codice_fiscale(raw) == expected


def test_codice_fiscale_wrong_check_character():
    with pytest.raises(ValidationError) as info:
        check_codice_fiscale("RSSMRA85T10A562T")
    assert info.value.field == "codice_fiscale"
    assert "check character" in info.value.message


def test_codice_fiscale_numeric_wrong_check_digit():
    with pytest.raises(ValidationError, match="check digit") as info:
        check_codice_fiscale("80078750588")
    assert info.value.field == "codice_fiscale"


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "required"),
        ("   ", "required"),
        ("RSSMRA85T10A562", "16 characters"),
        ("RSSMRA85T10A56", "14 characters were entered"),
        ("R", "1 character was entered"),
        ("1SSMRA85T10A562S", "not well formed"),
        ("RSSMRA85Z10A562S", "not well formed"),  # Z is no month letter
        ("8007875058A", "digits only"),
    ],
)
def test_codice_fiscale_invalid(raw, fragment):
    with pytest.raises(ValidationError) as info:
        check_codice_fiscale(raw)
    assert fragment in info.value.message
    assert info.value.field == "codice_fiscale"


def test_codice_fiscale_impossible_birth_date():
    from stdnum.it.codicefiscale import calc_check_digit

    body = "RSSMRA85B31A562"  # 31 February
    with pytest.raises(ValidationError, match="date of birth"):
        check_codice_fiscale(body + calc_check_digit(body))


def test_codice_fiscale_does_not_turn_non_ascii_letters_into_ascii():
    # "ſ" (long s) upper-cases to "S"; it must not sneak through as a valid code.
    with pytest.raises(ValidationError):
        check_codice_fiscale("RSSMRA85T10A562S".replace("S", "ſ", 1))


# --- Partita IVA ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [VALID_PIVA, "IT" + VALID_PIVA, "it " + VALID_PIVA, f" {VALID_PIVA[:5]} {VALID_PIVA[5:]}"],
)
def test_partita_iva_valid(raw):
    assert check_partita_iva(raw) == VALID_PIVA


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (BAD_PIVA, "check digit"),
        ("", "required"),
        ("IT", "required"),
        ("0123456789", "10 digits were entered"),
        ("0123456789AB", "digits only"),
        ("00000000000", "seven zeros"),
        ("01234567897", "tax office"),
    ],
)
def test_partita_iva_invalid(raw, fragment):
    with pytest.raises(ValidationError) as info:
        check_partita_iva(raw)
    assert fragment in info.value.message
    assert info.value.field == "partita_iva"


# --- Tax ids by holder type -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "cf", "piva", "expected"),
    [
        (HolderKind.PRIVATE, "rssmra85t10a562s", None, (PERSONAL_CF, None)),
        (HolderKind.PRIVATE, PERSONAL_CF, "", (PERSONAL_CF, None)),
        (HolderKind.SOLE_TRADER, PERSONAL_CF, VALID_PIVA, (PERSONAL_CF, VALID_PIVA)),
        (HolderKind.PROFESSIONAL, PERSONAL_CF, "IT" + VALID_PIVA, (PERSONAL_CF, VALID_PIVA)),
        (HolderKind.COMPANY, None, VALID_PIVA, (None, VALID_PIVA)),
        (HolderKind.COMPANY, "  ", VALID_PIVA, (None, VALID_PIVA)),
        (HolderKind.COMPANY, VALID_PIVA, VALID_PIVA, (VALID_PIVA, VALID_PIVA)),
        (HolderKind.COMPANY, PERSONAL_CF, VALID_PIVA, (PERSONAL_CF, VALID_PIVA)),
        (HolderKind.PUBLIC_ADMIN, NUMERIC_CF, None, (NUMERIC_CF, None)),
        (HolderKind.PUBLIC_ADMIN, NUMERIC_CF, VALID_PIVA, (NUMERIC_CF, VALID_PIVA)),
    ],
)
def test_holder_tax_ids_valid(kind, cf, piva, expected):
    assert check_holder_tax_ids(kind, cf, piva) == expected


@pytest.mark.parametrize(
    ("kind", "cf", "piva", "field", "fragment"),
    [
        (HolderKind.PRIVATE, None, None, "codice_fiscale", "required"),
        (HolderKind.PRIVATE, NUMERIC_CF, None, "codice_fiscale", "personal codice fiscale"),
        (HolderKind.PRIVATE, "RSSMRA85T10A562T", None, "codice_fiscale", "check character"),
        (HolderKind.PRIVATE, PERSONAL_CF, BAD_PIVA, "partita_iva", "check digit"),
        (HolderKind.SOLE_TRADER, PERSONAL_CF, None, "partita_iva", "required"),
        (HolderKind.SOLE_TRADER, None, VALID_PIVA, "codice_fiscale", "required"),
        (HolderKind.PROFESSIONAL, VALID_PIVA, VALID_PIVA, "codice_fiscale", "16 characters"),
        (HolderKind.PROFESSIONAL, PERSONAL_CF, "", "partita_iva", "required"),
        (HolderKind.COMPANY, None, None, "partita_iva", "required"),
        (HolderKind.COMPANY, "12345", VALID_PIVA, "codice_fiscale", "5 characters"),
        (HolderKind.PUBLIC_ADMIN, None, None, "codice_fiscale", "required"),
        (HolderKind.PUBLIC_ADMIN, PERSONAL_CF, None, "codice_fiscale", "11-digit"),
        (HolderKind.PUBLIC_ADMIN, NUMERIC_CF, BAD_PIVA, "partita_iva", "check digit"),
    ],
)
def test_holder_tax_ids_invalid(kind, cf, piva, field, fragment):
    with pytest.raises(ValidationError) as info:
        check_holder_tax_ids(kind, cf, piva)
    assert info.value.field == field
    assert fragment in info.value.message


def test_holder_tax_ids_message_names_the_holder_type():
    with pytest.raises(ValidationError, match="Sole trader"):
        check_holder_tax_ids(HolderKind.SOLE_TRADER, PERSONAL_CF, None)


def test_holder_tax_ids_accepts_the_stored_string_value():
    assert check_holder_tax_ids("azienda", None, VALID_PIVA) == (None, VALID_PIVA)  # type: ignore[arg-type]


# --- Electronic invoicing ------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [("M5UXCR1", "M5UXCR1"), (" m5uxcr1 ", "M5UXCR1")])
def test_sdi_code_valid(raw, expected):
    assert check_sdi_code(raw) == expected


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "required"),
        ("M5UXCR", "public administrations"),
        ("M5UXCR12", "7 letters or digits"),
        ("M5UX-R1", "7 letters or digits"),
    ],
)
def test_sdi_code_invalid(raw, fragment):
    with pytest.raises(ValidationError) as info:
        check_sdi_code(raw)
    assert info.value.field == "sdi_code"
    assert fragment in info.value.message


@pytest.mark.parametrize("pec", [None, "", "   "])
def test_sdi_zeros_without_pec_refused(pec):
    with pytest.raises(ValidationError, match="PEC") as info:
        check_sdi_code("0000000", pec)
    assert info.value.field == "billing_pec"


def test_sdi_zeros_with_invalid_pec_refused():
    with pytest.raises(ValidationError, match="PEC address") as info:
        check_sdi_code("0000000", "not-an-address")
    assert info.value.field == "billing_pec"


def test_sdi_zeros_with_pec_accepted():
    assert check_sdi_code("0000000", "fatture@pec.example.it") == "0000000"


def test_pa_office_code():
    assert check_pa_office_code(" ufabcd ") == "UFABCD"
    for bad in ("", "UFABC", "UFABCDE", "UF-BCD"):
        with pytest.raises(ValidationError) as info:
            check_pa_office_code(bad)
        assert info.value.field == "pa_office_code"


def test_cig():
    assert check_cig(None) is None
    assert check_cig("  ") is None
    assert check_cig("z1a2b3c4d5") == "Z1A2B3C4D5"
    for bad in ("Z1A2B3C4D", "Z1A2B3C4D56", "Z1A2B3C4D!"):
        with pytest.raises(ValidationError, match="10 letters or digits") as info:
            check_cig(bad)
        assert info.value.field == "cig"


def test_cup():
    assert check_cup(None) is None
    assert check_cup("") is None
    assert check_cup("j12 e34000123456") == "J12E34000123456"
    for bad in ("112E34000123456", "J12E3400012345", "J12E340001234567", "J12E3400012345*"):
        with pytest.raises(ValidationError, match="15 letters or digits") as info:
            check_cup(bad)
        assert info.value.field == "cup"


# --- Addresses ------------------------------------------------------------------------------


def test_cap():
    assert check_cap("00184") == "00184"
    assert check_cap(" 20121 ") == "20121"
    for bad in ("", "0018", "001844", "0018A", "²0184"):
        with pytest.raises(ValidationError, match="5 digits") as info:
            check_cap(bad)
        assert info.value.field == "cap"


_ASCII_DIGITS = set("0123456789")


@given(
    st.text(
        alphabet=st.one_of(st.sampled_from("0123456789"), st.characters()),
        min_size=5,
        max_size=5,
    )
)
def test_cap_accepts_exactly_five_ascii_digits(text):
    expected_ok = set(text) <= _ASCII_DIGITS
    try:
        result = check_cap(text)
    except ValidationError:
        assert not expected_ok
    else:
        assert expected_ok
        assert result == text


@pytest.mark.parametrize("code", ["RM", "MI", "TO", "SU", "BT", "MB", "FM", "rm", " na "])
def test_province_valid(code):
    assert check_province(code) == code.strip().upper()


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("XX", "does not exist"),
        ("ZZ", "does not exist"),
        ("FO", "does not exist"),
        ("", "2-letter"),
        ("ROM", "2-letter"),
        ("R1", "2-letter"),
    ],
)
def test_province_invalid(code, fragment):
    with pytest.raises(ValidationError) as info:
        check_province(code)
    assert info.value.field == "province"
    assert fragment in info.value.message


def test_province_list_is_todays():
    provinces = italian_provinces()
    assert 100 <= len(provinces) <= 115
    assert all(len(p) == 2 and p.isalpha() and p.isupper() for p in provinces)


def test_email():
    assert check_email(" Mario.Rossi@Example.IT ") == "Mario.Rossi@example.it"
    for bad in ("", "mario", "mario@", "mario rossi@example.it", "a@b.test"):
        with pytest.raises(ValidationError, match="e-mail address") as info:
            check_email(bad)
        assert info.value.field == "email"


def test_pec_address():
    assert check_pec_address("Studio@PEC.Example.it") == "Studio@pec.example.it"
    for bad in ("", "studio@", "@pec.it"):
        with pytest.raises(ValidationError, match="PEC address") as info:
            check_pec_address(bad)
        assert info.value.field == "pec"


# --- IBAN -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [VALID_IBAN, "it60 x054 2811 1010 0000 0123 456", " IT60X0542811101000000123456 "],
)
def test_iban_valid(raw):
    assert check_iban(raw) == VALID_IBAN


def test_iban_foreign_accepted():
    assert check_iban("DE89 3704 0044 0532 0130 00") == "DE89370400440532013000"


def test_iban_changed_cin_letter_refused():
    with pytest.raises(ValidationError) as info:
        check_iban(VALID_IBAN.replace("X", "Y", 1))
    assert info.value.field == "iban"


def test_iban_wrong_cin_with_matching_check_digits_refused():
    """The IBAN check digits are right, only the Italian CIN is wrong (stdnum would accept it)."""
    forged = _iban_with_cin("Y")
    assert stdnum_iban.is_valid(forged)
    with pytest.raises(ValidationError, match="CIN") as info:
        check_iban(forged)
    assert info.value.field == "iban"


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "required"),
        ("XX60X0542811101000000123456", "country code"),
        ("IT60X054281110100000012345", "wrong length"),
        ("IT61X0542811101000000123456", "check digits"),
        ("IT60X05428111010000001234$6", "not valid"),
    ],
)
def test_iban_invalid(raw, fragment):
    with pytest.raises(ValidationError) as info:
        check_iban(raw)
    assert info.value.field == "iban"
    assert fragment in info.value.message


# --- Years and extra space -------------------------------------------------------------------


@pytest.mark.parametrize("years", [1, 2, 3, 4, 5])
def test_years_valid(years):
    assert check_years(years) == years


@pytest.mark.parametrize("years", [0, -1, 6, 10])
def test_years_invalid(years):
    with pytest.raises(ValidationError, match="between 1 and 5") as info:
        check_years(years)
    assert info.value.field == "years"


def test_years_promo():
    assert check_years(1, promo=True) == 1
    assert check_years(2, promo=True) == 2
    for years in (0, 3, 5):
        with pytest.raises(ValidationError, match="promotional") as info:
            check_years(years, promo=True)
        assert info.value.field == "years"


def test_years_must_be_an_int():
    for bad in (True, 2.5, "2"):
        with pytest.raises(ValidationError, match="whole number"):
            check_years(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("plan", "mailbox", "archive"),
    [
        (Plan.STANDARD, 0, 0),
        (Plan.STANDARD, 1, 0),
        (Plan.PRO, 0, 0),
        (Plan.PRO, MAX_EXTRA_GB, MAX_EXTRA_GB),
        (Plan.PREMIUM, 3, 7),
    ],
)
def test_extra_gb_valid(plan, mailbox, archive):
    assert check_extra_gb(plan, mailbox, archive) == (mailbox, archive)


@pytest.mark.parametrize(
    ("plan", "mailbox", "archive", "field", "fragment"),
    [
        (Plan.STANDARD, 2, 0, "extra_mailbox_gb", "at most 1 extra GB"),
        (Plan.STANDARD, 0, 1, "extra_archive_gb", "no security archive"),
        (Plan.STANDARD, -1, 0, "extra_mailbox_gb", "negative"),
        (Plan.PRO, 0, -2, "extra_archive_gb", "negative"),
        (Plan.PRO, MAX_EXTRA_GB + 1, 0, "extra_mailbox_gb", f"at most {MAX_EXTRA_GB}"),
        (Plan.PREMIUM, 0, MAX_EXTRA_GB + 1, "extra_archive_gb", f"at most {MAX_EXTRA_GB}"),
    ],
)
def test_extra_gb_invalid(plan, mailbox, archive, field, fragment):
    with pytest.raises(ValidationError) as info:
        check_extra_gb(plan, mailbox, archive)
    assert info.value.field == field
    assert fragment in info.value.message


# --- Required ---------------------------------------------------------------------------------


def test_required():
    assert check_required("  Mario Rossi ", "name", "Name") == "Mario Rossi"
    for empty in (None, "", "   \t"):
        with pytest.raises(ValidationError) as info:
            check_required(empty, "name", "Name")
        assert info.value.message == "Name is required."
        assert info.value.field == "name"


def test_messages_are_translated_through_the_catalog(monkeypatch):
    from pec_tui.domain import validation

    monkeypatch.setattr(validation, "_", lambda message: "«" + message + "»")
    with pytest.raises(ValidationError, match="^«The CAP must be 5 digits"):
        check_cap("1")
