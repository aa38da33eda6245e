"""The electronic invoice (FatturaPA 1.2.2): plain data -> dict -> XML, valid by construction.

`invoice_data` lays the invoice out as the dict the official schema describes (FatturaPA
1.2.2 and the W3C xmldsig schema it imports, shipped in `fatturapa_schema/` and loaded
offline). A dict of plain texts is written out directly, as the schema's encoder would write
it (the tests compare the two byte for byte); any other goes through xmlschema's encoder.
Either way the document is validated against the schema before it is returned (libxml2's
validator, through lxml, gives the verdict; xmlschema the reason of a refusal): an invoice
that does not match the schema never exists as XML, only as `InvoiceInvalid` with the reason.

FPR12 goes to businesses and private persons, FPA12 to public administrations (codice univoco
ufficio, CIG/CUP in DatiOrdineAcquisto, split payment). TD01 is an invoice, TD04 a credit note
naming the invoice it reverses in DatiFattureCollegate.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from lxml import etree

from pec_tui.domain import validation
from pec_tui.domain.enums import HolderKind, PaymentMethod
from pec_tui.domain.money import VAT_RATE
from pec_tui.domain.validation import ValidationError, is_latin1, latin1
from pec_tui.i18n import _

if TYPE_CHECKING:  # imported where used: it takes longer than the mailbox list to import
    import xmlschema

NAMESPACE = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2"
XMLDSIG_NAMESPACE = "http://www.w3.org/2000/09/xmldsig#"
SCHEMA_FILE = "Schema_del_file_xml_FatturaPA_v1.2.2.xsd"
XMLDSIG_FILE = "xmldsig-core-schema.xsd"

INVOICE = "TD01"
CREDIT_NOTE = "TD04"
# CodiceDestinatario of a recipient without an SDI code (PEC, private person, abroad).
NO_SDI_CODE = "0000000"
DEFAULT_REGIME = "RF01"

# ModalitaPagamento of each payment method: card and PayPal are payment cards (MP08), a bank
# transfer MP05, a postal slip (bollettino di c/c postale) MP18, a reseller's prepaid credit
# a deduction from sums already received (MP22).
PAYMENT_MODES: dict[PaymentMethod, str] = {
    PaymentMethod.CARD: "MP08",
    PaymentMethod.PAYPAL: "MP08",
    PaymentMethod.BANK_TRANSFER: "MP05",
    PaymentMethod.POSTAL_SLIP: "MP18",
    PaymentMethod.PREPAID_CREDIT: "MP22",
}


class InvoiceInvalid(Exception):
    """The invoice cannot be made: `message` says why, in the UI language, on one line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Issuer:
    """The cedente/prestatore: the provider issuing the invoices."""

    name: str
    vat_number: str  # partita IVA, 11 digits, without the country
    codice_fiscale: str | None
    street: str
    cap: str
    city: str
    province: str | None
    country: str = "IT"
    regime_fiscale: str = DEFAULT_REGIME
    rea_office: str | None = None  # the province of the REA register, e.g. RM
    rea_number: str | None = None
    # IdTrasmittente: who sends the file to SDI; the issuer itself when not set.
    transmitter_country: str = "IT"
    transmitter_code: str | None = None
    email: str | None = None

    @property
    def transmitter_id(self) -> str:
        return self.transmitter_code or self.vat_number


@dataclass(frozen=True)
class Buyer:
    """The cessionario/committente as the order's holder data describe it."""

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
    country: str = "IT"
    sdi_code: str | None = None
    billing_pec: str | None = None
    pa_office_code: str | None = None
    cig: str | None = None
    cup: str | None = None
    split_payment: bool = False

    @property
    def is_public(self) -> bool:
        return self.kind is HolderKind.PUBLIC_ADMIN

    @property
    def name(self) -> str:
        if self.company_name and self.kind is not HolderKind.PRIVATE:
            return self.company_name
        return " ".join(p for p in (self.first_name, self.last_name) if p)


@dataclass(frozen=True)
class Line:
    """One invoice line: `quantity` × `unit_price` = `total` (net of VAT)."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    total: Decimal
    period_start: date | None = None
    period_end: date | None = None


@dataclass(frozen=True)
class Document:
    """One invoice (TD01) or credit note (TD04), ready to encode."""

    document_type: str
    number: str
    issued_on: date
    progressive: str
    issuer: Issuer
    buyer: Buyer
    lines: tuple[Line, ...]
    net: Decimal
    vat: Decimal
    gross: Decimal
    payment_method: PaymentMethod
    paid_on: date
    # The invoice a credit note reverses: (its number, its date).
    related: tuple[str, date] | None = None
    causale: str | None = None
    vat_rate: Decimal = VAT_RATE

    @property
    def transmission_format(self) -> str:
        return "FPA12" if self.buyer.is_public else "FPR12"

    @property
    def file_name(self) -> str:
        return file_name(self.issuer, self.progressive)


def file_name(issuer: Issuer, progressive: str) -> str:
    """The SDI file name: IT<IdCodice>_<progressivo>.xml."""
    return f"{issuer.transmitter_country}{issuer.transmitter_id}_{progressive}.xml"


_DIGITS36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def progressive(serial: int) -> str:
    """The 5-character progressivo of the file name for serial `serial` (base 36)."""
    if not 0 < serial < 36**5:
        raise ValueError(f"serial {serial} out of range")
    text = ""
    while serial:
        serial, digit = divmod(serial, 36)
        text = _DIGITS36[digit] + text
    return text.rjust(5, "0")


# --- the dict the schema describes -----------------------------------------------------------


def _amount(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):f}"


def _address(
    street: str | None, cap: str | None, city: str | None, province: str | None, country: str
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "Indirizzo": street or "",
        "CAP": cap or "",
        "Comune": city or "",
    }
    if province:
        data["Provincia"] = province
    data["Nazione"] = country or "IT"
    return data


def _issuer_data(issuer: Issuer) -> dict[str, Any]:
    registry: dict[str, Any] = {
        "IdFiscaleIVA": {"IdPaese": issuer.country or "IT", "IdCodice": issuer.vat_number},
    }
    if issuer.codice_fiscale:
        registry["CodiceFiscale"] = issuer.codice_fiscale
    registry["Anagrafica"] = {"Denominazione": issuer.name}
    registry["RegimeFiscale"] = issuer.regime_fiscale
    data: dict[str, Any] = {
        "DatiAnagrafici": registry,
        "Sede": _address(issuer.street, issuer.cap, issuer.city, issuer.province, issuer.country),
    }
    if issuer.rea_office and issuer.rea_number:
        data["IscrizioneREA"] = {
            "Ufficio": issuer.rea_office,
            "NumeroREA": issuer.rea_number,
            "StatoLiquidazione": "LN",
        }
    if issuer.email:
        data["Contatti"] = {"Email": issuer.email}
    return data


def _buyer_data(buyer: Buyer) -> dict[str, Any]:
    registry: dict[str, Any] = {}
    if buyer.partita_iva and buyer.kind is not HolderKind.PRIVATE:
        registry["IdFiscaleIVA"] = {"IdPaese": buyer.country or "IT", "IdCodice": buyer.partita_iva}
    if buyer.codice_fiscale:
        registry["CodiceFiscale"] = buyer.codice_fiscale
    if buyer.kind in (HolderKind.COMPANY, HolderKind.PUBLIC_ADMIN) or (
        buyer.company_name and buyer.kind is HolderKind.SOLE_TRADER
    ):
        registry["Anagrafica"] = {"Denominazione": buyer.company_name or ""}
    else:
        registry["Anagrafica"] = {"Nome": buyer.first_name or "", "Cognome": buyer.last_name or ""}
    return {
        "DatiAnagrafici": registry,
        "Sede": _address(buyer.street, buyer.cap, buyer.city, buyer.province, buyer.country),
    }


def _recipient(buyer: Buyer) -> tuple[str, str | None]:
    """(CodiceDestinatario, PECDestinatario or None) for `buyer`."""
    if buyer.is_public:
        return (buyer.pa_office_code or ""), None
    code = (buyer.sdi_code or "").strip().upper()
    if code and code != NO_SDI_CODE:
        return code, None
    # No SDI code: the PEC if one is given; a private person is found by codice fiscale.
    return NO_SDI_CODE, (buyer.billing_pec or None) if buyer.kind.needs_billing else None


def _line_data(number: int, line: Line, rate: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "NumeroLinea": number,
        "Descrizione": line.description,
        "Quantita": _amount(line.quantity),
    }
    if line.period_start is not None and line.period_end is not None:
        data["DataInizioPeriodo"] = line.period_start.isoformat()
        data["DataFinePeriodo"] = line.period_end.isoformat()
    data["PrezzoUnitario"] = _amount(line.unit_price)
    data["PrezzoTotale"] = _amount(line.total)
    data["AliquotaIVA"] = rate
    return data


def invoice_data(doc: Document) -> dict[str, Any]:
    """The invoice laid out as the FatturaPA schema's FatturaElettronica element."""
    code, pec = _recipient(doc.buyer)
    transmission: dict[str, Any] = {
        "IdTrasmittente": {
            "IdPaese": doc.issuer.transmitter_country,
            "IdCodice": doc.issuer.transmitter_id,
        },
        "ProgressivoInvio": doc.progressive,
        "FormatoTrasmissione": doc.transmission_format,
        "CodiceDestinatario": code,
    }
    if pec:
        transmission["PECDestinatario"] = pec
    rate = _amount(doc.vat_rate * 100)
    document: dict[str, Any] = {
        "TipoDocumento": doc.document_type,
        "Divisa": "EUR",
        "Data": doc.issued_on.isoformat(),
        "Numero": doc.number,
        "ImportoTotaleDocumento": _amount(doc.gross),
    }
    if doc.causale:
        document["Causale"] = [doc.causale[:200]]
    general: dict[str, Any] = {"DatiGeneraliDocumento": document}
    buyer = doc.buyer
    if buyer.is_public and (buyer.cig or buyer.cup):
        order: dict[str, Any] = {"IdDocumento": doc.number}
        if buyer.cup:
            order["CodiceCUP"] = buyer.cup
        if buyer.cig:
            order["CodiceCIG"] = buyer.cig
        general["DatiOrdineAcquisto"] = [order]
    if doc.related is not None:
        general["DatiFattureCollegate"] = [
            {"IdDocumento": doc.related[0], "Data": doc.related[1].isoformat()}
        ]
    split = buyer.is_public and buyer.split_payment
    summary: dict[str, Any] = {
        "AliquotaIVA": rate,
        "ImponibileImporto": _amount(doc.net),
        "Imposta": _amount(doc.vat),
        "EsigibilitaIVA": "S" if split else "I",
    }
    payment: dict[str, Any] = {
        "ModalitaPagamento": PAYMENT_MODES[doc.payment_method],
        "DataScadenzaPagamento": doc.paid_on.isoformat(),
        # Under split payment the administration pays the taxable amount only.
        "ImportoPagamento": _amount(doc.net if split else doc.gross),
    }
    return {
        "@versione": doc.transmission_format,
        "FatturaElettronicaHeader": {
            "DatiTrasmissione": transmission,
            "CedentePrestatore": _issuer_data(doc.issuer),
            "CessionarioCommittente": _buyer_data(buyer),
        },
        "FatturaElettronicaBody": [
            {
                "DatiGenerali": general,
                "DatiBeniServizi": {
                    "DettaglioLinee": [
                        _line_data(n, line, rate) for n, line in enumerate(doc.lines, start=1)
                    ],
                    "DatiRiepilogo": [summary],
                },
                "DatiPagamento": [{"CondizioniPagamento": "TP02", "DettaglioPagamento": [payment]}],
            }
        ],
    }


# --- schema, encoding, validation ------------------------------------------------------------


# lxml shares neither a parser nor a schema between threads: each thread makes its own.
_per_thread = threading.local()


def _safe_parser() -> etree.XMLParser:
    """A parser without entities, DTDs or the network."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


class _PackagedSchemas(etree.Resolver):
    """The schema's import of xmldsig, from its web address to the package's copy."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def resolve(self, system_url: str | None, public_id: str | None, context: object) -> Any:
        if system_url is not None and system_url.endswith("/" + XMLDSIG_FILE):
            return self.resolve_filename(str(self.folder / XMLDSIG_FILE), context)
        return None


def _verdict_schema() -> tuple[etree.XMLParser, etree.XMLSchema]:
    """This thread's invoice parser and FatturaPA 1.2.2 schema for libxml2 (lxml), the schema
    loaded once per thread (3 ms) from the package, offline."""
    made: tuple[etree.XMLParser, etree.XMLSchema] | None = getattr(_per_thread, "schema", None)
    if made is None:
        folder = resources.files("pec_tui.domain") / "fatturapa_schema"
        with resources.as_file(folder) as path:
            parser = _safe_parser()
            parser.resolvers.add(_PackagedSchemas(Path(path)))
            made = (_safe_parser(), etree.XMLSchema(etree.parse(str(path / SCHEMA_FILE), parser)))
        _per_thread.schema = made
    return made


@functools.cache
def schema() -> xmlschema.XMLSchema10:
    """The FatturaPA 1.2.2 schema, loaded once from the package, offline."""
    import xmlschema

    folder = resources.files("pec_tui.domain") / "fatturapa_schema"
    with resources.as_file(folder) as path:
        return xmlschema.XMLSchema10(
            str(path / SCHEMA_FILE),
            locations={XMLDSIG_NAMESPACE: str(path / XMLDSIG_FILE)},
            allow="local",
        )


def _reason(error: xmlschema.XMLSchemaValidationError) -> str:
    where = error.path or ""
    what = (error.reason or str(error)).splitlines()[0]
    return _("The invoice does not match the FatturaPA schema at {path}: {reason}").format(
        path=where, reason=what
    )


def _check_before_encoding(doc: Document) -> None:
    """Refusals a person can act on, before the schema's own (terser) ones."""
    if not doc.lines:
        raise InvoiceInvalid(_("The invoice has no lines."))
    buyer = doc.buyer
    if not buyer.name:
        raise InvoiceInvalid(_("The buyer has no name."))
    if not (buyer.street and buyer.cap and buyer.city):
        raise InvoiceInvalid(
            _("The buyer {name} has no complete address (street, CAP, city).").format(
                name=buyer.name
            )
        )
    if buyer.kind is HolderKind.PRIVATE and not buyer.codice_fiscale:
        raise InvoiceInvalid(
            _("The private person {name} has no codice fiscale.").format(name=buyer.name)
        )
    if buyer.kind.is_business and not buyer.partita_iva:
        raise InvoiceInvalid(_("The buyer {name} has no partita IVA.").format(name=buyer.name))
    if buyer.is_public and not buyer.pa_office_code:
        raise InvoiceInvalid(
            _("The public administration {name} has no office code.").format(name=buyer.name)
        )


_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
_INDENT = "    "
# A text the schema's encoder writes as it is: Latin-1 letters, digits and signs, words parted
# by single spaces (no tab, line break or control character for a whiteSpace facet to
# replace, no leading, trailing or double space for one to collapse).
_PLAIN_TEXT = re.compile(r"[!-~\xa1-\xff]+(?: [!-~\xa1-\xff]+)*")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


class _NotPlain(Exception):
    """A value `_plain_xml` does not write itself: the schema's encoder does."""


def _plain_xml(data: dict[str, Any]) -> str:
    """`invoice_data`'s dict as the XML the schema's encoder and `xmlschema.etree_tostring`
    make of it, byte for byte (`tests/domain/test_fatturapa.py` compares them), written
    directly: the encoder took ~1.5 ms an invoice. The dict is laid out in the schema's
    order; a text that is not plain (`_PLAIN_TEXT`) raises `_NotPlain`."""
    out: list[str] = [
        f'<p:FatturaElettronica xmlns:p="{NAMESPACE}" versione="{data["@versione"]}">'
    ]
    append = out.append
    plain = _PLAIN_TEXT.fullmatch

    def write(tag: str, value: Any, pad: str) -> None:
        if isinstance(value, dict) and value:
            append(f"{pad}<{tag}>")
            inner = pad + _INDENT
            for name, child in value.items():
                for item in child if isinstance(child, list) else (child,):
                    write(name, item, inner)
            append(f"{pad}</{tag}>")
            return
        text = value if isinstance(value, str) else str(value)
        if not isinstance(value, str | int) or isinstance(value, bool) or not plain(text):
            raise _NotPlain(tag)
        append(f"{pad}<{tag}>{text.translate(_ESCAPES)}</{tag}>")

    for name, child in data.items():
        if name.startswith("@"):
            continue
        for item in child if isinstance(child, list) else (child,):
            write(name, item, "\n" + _INDENT)
    append("\n</p:FatturaElettronica>")
    return "".join(out)


def _encoded_xml(data: dict[str, Any]) -> str:
    """`invoice_data`'s dict as XML through the schema's encoder (any value)."""
    element = schema().elements["FatturaElettronica"].encode(data, validation="skip")
    if not isinstance(element, ElementTree.Element):
        raise InvoiceInvalid(_("The invoice could not be encoded."))
    import xmlschema

    text = xmlschema.etree_tostring(
        element, namespaces={"p": NAMESPACE, "ds": XMLDSIG_NAMESPACE}, xml_declaration=False
    )
    assert isinstance(text, str)
    return text


def build_xml(doc: Document) -> bytes:
    """The invoice as FatturaPA XML bytes, valid against the schema; InvoiceInvalid if not."""
    _check_before_encoding(doc)
    # Encoded without checks, then validated once: the validation names where the first
    # error is (the encoder's own errors carry no path), and checking twice costs time.
    data = invoice_data(doc)
    try:
        text = _plain_xml(data)
    except _NotPlain:
        text = _encoded_xml(data)
    xml = (_DECLARATION + text).encode("utf-8")
    validate(xml)
    return xml


def validate(data: bytes) -> None:
    """InvoiceInvalid unless `data` is a FatturaPA 1.2.2 document.

    libxml2's validator (lxml) gives the verdict, in a tenth of a millisecond; an invoice it
    refuses is checked again by xmlschema, whose errors name the element and the rule in
    words the message can use (`_reason`), and which takes half a second to load."""
    parser, verdict = _verdict_schema()
    try:
        valid = verdict.validate(etree.fromstring(data, parser))
    except (etree.XMLSyntaxError, etree.XMLSchemaValidateError):
        valid = False  # not XML, or an entity libxml2 was told not to resolve
    if valid:
        return
    lxml_error = verdict.error_log.last_error
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise InvoiceInvalid(
            _("The invoice is not well-formed XML: {error}").format(error=exc)
        ) from exc
    error = next(iter(schema().iter_errors(root)), None)
    if error is not None:
        raise InvoiceInvalid(_reason(error))
    raise InvoiceInvalid(
        _("The invoice does not match the FatturaPA schema: {error}").format(error=lxml_error)
    )


def quantity_of(quantity: int, years: int) -> Decimal:
    """An order line's invoiced quantity: units × years (a yearly price per unit)."""
    return Decimal(quantity * years)


def lines_total(lines: Sequence[Line]) -> Decimal:
    return sum((line.total for line in lines), Decimal("0"))


# --- the issuer as an administrator types it --------------------------------------------------

REGIMES = frozenset(f"RF{n:02d}" for n in range(1, 20))


def _text_field(value: str | None, field: str, label: str, longest: int, required: bool) -> str:
    text = latin1(" ".join((value or "").split()))
    if not text:
        if required:
            raise ValidationError(_("{label} is required.").format(label=label), field)
        return ""
    if not is_latin1(text):
        raise ValidationError(
            _("{label}: only Latin letters can go on an invoice.").format(label=label), field
        )
    if len(text) > longest:
        raise ValidationError(
            _("{label}: at most {max} characters ({count} given).").format(
                label=label, max=longest, count=len(text)
            ),
            field,
        )
    return text


def normalise_issuer(issuer: Issuer) -> Issuer:
    """The issuer checked and normalised (codes upper-case, text Latin-1); ValidationError
    on the first field that cannot go on an invoice."""
    name = _text_field(issuer.name, "name", _("Company name"), 80, True)
    vat = validation.check_partita_iva(issuer.vat_number or "")
    cf = issuer.codice_fiscale
    if cf:
        cf = cf.strip().upper()
        cf = vat if cf == vat else validation.check_codice_fiscale(cf)
    regime = (issuer.regime_fiscale or DEFAULT_REGIME).strip().upper()
    if regime not in REGIMES:
        raise ValidationError(
            _("The regime fiscale must be one of RF01 to RF19 ({code} given).").format(code=regime),
            "regime_fiscale",
        )
    street = _text_field(issuer.street, "street", _("Address"), 60, True)
    city = _text_field(issuer.city, "city", _("City"), 60, True)
    country = (issuer.country or "IT").strip().upper()
    foreign = country != "IT"
    cap = (issuer.cap or "").strip() if foreign else validation.check_cap(issuer.cap or "")
    province = validation.check_province(issuer.province or "") if not foreign else None
    rea_office = validation.check_province(issuer.rea_office) if issuer.rea_office else None
    rea_number = _text_field(issuer.rea_number, "rea_number", _("REA number"), 20, False)
    if bool(rea_office) != bool(rea_number):
        raise ValidationError(
            _("The REA registration needs both the office (province) and the number."),
            "rea_number",
        )
    code = (issuer.transmitter_code or "").strip().upper() or None
    if code is not None and not (1 <= len(code) <= 28 and code.isalnum()):
        raise ValidationError(
            _("The transmitter code must be 1 to 28 letters or digits."), "transmitter_code"
        )
    email = validation.check_email(issuer.email) if issuer.email else None
    return Issuer(
        name=name,
        vat_number=vat,
        codice_fiscale=cf or None,
        street=street,
        cap=cap,
        city=city,
        province=province,
        country=country,
        regime_fiscale=regime,
        rea_office=rea_office,
        rea_number=rea_number or None,
        transmitter_country=(issuer.transmitter_country or "IT").strip().upper(),
        transmitter_code=code,
        email=email,
    )
