"""The holder (intestatario) and billing data, and the one table of which fields each kind needs.

`HOLDER_FIELDS` says, for each field, which holder kinds have it, whether it is required and
its longest length (the e-invoice's own limits, FatturaPA 1.2.2). The holder form, the order
checks, the CSV import and the kiosk all read it; `validate_holder` and `normalise_holder`
apply it with the validators of `domain.validation`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from pec_tui.domain import validation
from pec_tui.domain.enums import HolderKind
from pec_tui.domain.validation import ValidationError
from pec_tui.i18n import N_, _


class Need(StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"


_R, _O = Need.REQUIRED, Need.OPTIONAL
_P, _S, _L, _C, _A = (
    HolderKind.PRIVATE,
    HolderKind.SOLE_TRADER,
    HolderKind.PROFESSIONAL,
    HolderKind.COMPANY,
    HolderKind.PUBLIC_ADMIN,
)


def _every(need: Need) -> dict[HolderKind, Need]:
    return dict.fromkeys(HolderKind, need)


@dataclass(frozen=True)
class HolderField:
    """A holder field: its label (a msgid), the kinds that have it and how long it may be."""

    name: str
    label: str
    needs: dict[HolderKind, Need]
    max_length: int
    billing: bool = False
    placeholder: str = ""

    def applies_to(self, kind: HolderKind) -> bool:
        return kind in self.needs

    def required_for(self, kind: HolderKind) -> bool:
        return self.needs.get(kind) is Need.REQUIRED


# A professional (libero professionista) is a person with a partita IVA: first and last name
# required, the studio's name optional. Lengths: Nome/Cognome String60Latin, Denominazione
# String80Latin, Indirizzo and Comune String60Latin, Telefono 5–12, PECDestinatario 7–256.
HOLDER_FIELDS: tuple[HolderField, ...] = (
    HolderField("first_name", N_("First name"), {_P: _R, _S: _R, _L: _R}, 60),
    HolderField("last_name", N_("Last name"), {_P: _R, _S: _R, _L: _R}, 60),
    HolderField("company_name", N_("Company or office name"), {_S: _R, _L: _O, _C: _R, _A: _R}, 80),
    HolderField(
        "codice_fiscale",
        N_("Codice fiscale"),
        {_P: _R, _S: _R, _L: _R, _C: _O, _A: _R},
        16,
        placeholder="RSSMRA85T10A562S",
    ),
    HolderField("partita_iva", N_("Partita IVA"), {_S: _R, _L: _R, _C: _R, _A: _O}, 13),
    HolderField("street", N_("Address"), _every(_R), 60, placeholder="Via Roma 1"),
    HolderField("cap", N_("CAP"), _every(_R), 5, placeholder="00184"),
    HolderField("city", N_("City"), _every(_R), 60),
    HolderField("province", N_("Province"), _every(_R), 2, placeholder="RM"),
    HolderField("reference_email", N_("Reference e-mail"), _every(_R), 254),
    HolderField("phone", N_("Phone"), _every(_O), 30),
    HolderField(
        "sdi_code",
        N_("SDI recipient code"),
        {_S: _R, _L: _R, _C: _R},
        7,
        billing=True,
        placeholder="M5UXCR1 / 0000000",
    ),
    HolderField(
        "billing_pec", N_("PEC for invoices (with 0000000)"), {_S: _O, _L: _O, _C: _O}, 254, True
    ),
    HolderField(
        "pa_office_code",
        N_("Office code (codice univoco)"),
        {_A: _R},
        6,
        billing=True,
        placeholder="UFABCD",
    ),
    HolderField("cig", N_("CIG (optional)"), {_A: _O}, 10, billing=True, placeholder="Z1A2B3C4D5"),
    HolderField(
        "cup", N_("CUP (optional)"), {_A: _O}, 15, billing=True, placeholder="J11B22000000001"
    ),
)
FIELDS_BY_NAME: dict[str, HolderField] = {spec.name: spec for spec in HOLDER_FIELDS}


def holder_field(name: str) -> HolderField:
    return FIELDS_BY_NAME[name]


def max_length(name: str) -> int:
    return FIELDS_BY_NAME[name].max_length


@dataclass(frozen=True)
class HolderData:
    """The holder as the flow shows and edits it; `version` guards against lost updates."""

    holder_id: int | None
    version: int
    kind: HolderKind
    first_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    codice_fiscale: str | None = None
    partita_iva: str | None = None
    street: str | None = None
    cap: str | None = None
    city: str | None = None
    province: str | None = None
    reference_email: str | None = None
    phone: str | None = None
    sdi_code: str | None = None
    billing_pec: str | None = None
    pa_office_code: str | None = None
    cig: str | None = None
    cup: str | None = None
    split_payment: bool = False

    @property
    def display_name(self) -> str:
        return display_name(self.kind, self.first_name, self.last_name, self.company_name)


def display_name(
    kind: HolderKind, first_name: str | None, last_name: str | None, company_name: str | None
) -> str:
    """How a holder is named on screen and on the order: the company, or the person."""
    if kind in (HolderKind.COMPANY, HolderKind.PUBLIC_ADMIN) and company_name:
        return company_name
    person = " ".join(p for p in (first_name, last_name) if p)
    if company_name and person:
        return f"{company_name} ({person})"
    return person or company_name or ""


# --- checks ---------------------------------------------------------------------------------

# Fields whose check is more than "present and not too long": name -> check(data) returning
# the normalised value. The tax codes are checked together (the kind decides which applies).
_Check = Callable[[HolderData], Any]
_SPECIAL: dict[str, _Check] = {
    "codice_fiscale": lambda d: validation.check_holder_tax_ids(
        d.kind, d.codice_fiscale, d.partita_iva
    ),
    "cap": lambda d: validation.check_cap(d.cap or ""),
    "province": lambda d: validation.check_province(d.province or ""),
    "reference_email": lambda d: validation.check_email(d.reference_email or ""),
    "phone": lambda d: validation.check_phone(d.phone),
    "sdi_code": lambda d: validation.check_sdi_code(d.sdi_code or "", d.billing_pec),
    "billing_pec": lambda d: validation.check_pec_address(d.billing_pec) if d.billing_pec else None,
    "pa_office_code": lambda d: validation.check_pa_office_code(d.pa_office_code or ""),
    "cig": lambda d: validation.check_cig(d.cig),
    "cup": lambda d: validation.check_cup(d.cup),
}
# Checked inside the codice fiscale's check.
_CHECKED_WITH_OTHERS = frozenset({"partita_iva"})


def check_length(spec: HolderField, value: str | None) -> None:
    if value and len(value.strip()) > spec.max_length:
        raise ValidationError(
            _("{label}: at most {max} characters ({count} given).").format(
                label=_(spec.label), max=spec.max_length, count=len(value.strip())
            ),
            spec.name,
        )


# Text printed on the e-invoice as String…Latin: transliterated into Latin-1 or refused.
LATIN_FIELDS = frozenset({"first_name", "last_name", "company_name", "street", "city"})


def _check_field(spec: HolderField, data: HolderData) -> Any:
    """The field's normalised value, or ValidationError."""
    value = getattr(data, spec.name)
    if spec.name in LATIN_FIELDS:
        value = validation.check_latin1(value, spec.name, _(spec.label))
    check_length(spec, value)
    special = _SPECIAL.get(spec.name)
    if special is not None:
        return special(data)
    if spec.required_for(data.kind):
        return validation.check_required(value, spec.name, _(spec.label))
    return (value or "").strip() or None


def _applicable(data: HolderData) -> list[HolderField]:
    return [
        spec
        for spec in HOLDER_FIELDS
        if spec.applies_to(data.kind) and spec.name not in _CHECKED_WITH_OTHERS
    ]


def validate_holder(data: HolderData) -> dict[str, str]:
    """Holder field name -> message for every invalid field; empty when the data is valid."""
    errors: dict[str, str] = {}
    for spec in _applicable(data):
        try:
            _check_field(spec, data)
        except ValidationError as exc:
            # Validators name some fields after what they check; the form names them after data.
            key = exc.field if exc.field in FIELDS_BY_NAME else spec.name
            errors.setdefault(key, exc.message)
    if data.partita_iva:
        try:
            check_length(FIELDS_BY_NAME["partita_iva"], data.partita_iva)
        except ValidationError as exc:
            errors.setdefault("partita_iva", exc.message)
    return errors


def normalise_holder(data: HolderData) -> HolderData:
    """Valid holder data as stored: codes upper-case, blanks removed, other kinds' fields
    dropped. Raises ValidationError on the first invalid field."""
    values: dict[str, Any] = {
        spec.name: (getattr(data, spec.name) if spec.applies_to(data.kind) else None)
        for spec in HOLDER_FIELDS
    }
    kept = replace(data, **values)
    for spec in _applicable(kept):
        result = _check_field(spec, kept)
        if spec.name == "codice_fiscale":
            values["codice_fiscale"], values["partita_iva"] = result
        else:
            values[spec.name] = result
    return replace(
        data, split_payment=data.split_payment and data.kind is HolderKind.PUBLIC_ADMIN, **values
    )
