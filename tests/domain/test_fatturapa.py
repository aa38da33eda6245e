"""The FatturaPA builder: every holder kind × every payment method validates against the
official schema (the copy in ../shared/fatturapa, not the package's own), the PA case, the
credit note, and the refusals."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import pytest
import xmlschema

from pec_tui.domain import fatturapa
from pec_tui.domain.enums import HolderKind, PaymentMethod
from pec_tui.domain.fatturapa import Buyer, Document, InvoiceInvalid, Issuer, Line

SHARED = Path(__file__).resolve().parents[3] / "shared" / "fatturapa"
if not SHARED.is_dir():  # a checkout elsewhere: the package's copy is byte-identical
    SHARED = Path(fatturapa.__file__).parent / "fatturapa_schema"


@pytest.fixture(scope="module")
def official() -> xmlschema.XMLSchema10:
    return xmlschema.XMLSchema10(
        str(SHARED / fatturapa.SCHEMA_FILE),
        locations={fatturapa.XMLDSIG_NAMESPACE: str(SHARED / fatturapa.XMLDSIG_FILE)},
    )


ISSUER = Issuer(
    name="PEC Italia S.r.l.",
    vat_number="01234567890",
    codice_fiscale="01234567890",
    street="Via Roma 1",
    cap="00184",
    city="Roma",
    province="RM",
    rea_office="RM",
    rea_number="1234567",
    email="fatture@pecitalia.example",
)

ADDRESS = dict(street="Via Po 2", cap="10121", city="Torino", province="TO")
BUYERS = {
    HolderKind.PRIVATE: Buyer(
        HolderKind.PRIVATE,
        first_name="Mario",
        last_name="Rossi",
        codice_fiscale="RSSMRA85T10A562S",
        **ADDRESS,
    ),
    HolderKind.SOLE_TRADER: Buyer(
        HolderKind.SOLE_TRADER,
        first_name="Anna",
        last_name="Verdi",
        company_name="Ferramenta Verdi",
        codice_fiscale="VRDNNA80A41L219X",
        partita_iva="12345678903",
        sdi_code="M5UXCR1",
        **ADDRESS,
    ),
    HolderKind.PROFESSIONAL: Buyer(
        HolderKind.PROFESSIONAL,
        first_name="Luca",
        last_name="Bianchi",
        codice_fiscale="BNCLCU75C12F205Z",
        partita_iva="12345678903",
        sdi_code="0000000",
        billing_pec="luca.bianchi@pec.example.it",
        **ADDRESS,
    ),
    HolderKind.COMPANY: Buyer(
        HolderKind.COMPANY,
        company_name="Acme S.p.A.",
        partita_iva="12345678903",
        sdi_code="KRRH6B9",
        **ADDRESS,
    ),
    HolderKind.PUBLIC_ADMIN: Buyer(
        HolderKind.PUBLIC_ADMIN,
        company_name="Comune di Torino",
        codice_fiscale="00514490010",
        partita_iva="00514490010",
        pa_office_code="UFABCD",
        cig="Z1A2B3C4D5",
        cup="J11B22000000001",
        split_payment=True,
        **ADDRESS,
    ),
}

LINES = (
    Line(
        "PEC PRO - mario@pec.example.it",
        Decimal(1),
        Decimal("25.00"),
        Decimal("25.00"),
        date(2026, 3, 1),
        date(2027, 3, 1),
    ),
    Line("Extra mailbox GB", Decimal(2), Decimal("3.00"), Decimal("6.00")),
)


def _doc(buyer: Buyer, method: PaymentMethod, **kw) -> Document:
    values = dict(
        document_type=fatturapa.INVOICE,
        number="7/2026",
        issued_on=date(2026, 3, 1),
        progressive=fatturapa.progressive(7),
        issuer=ISSUER,
        buyer=buyer,
        lines=LINES,
        net=Decimal("31.00"),
        vat=Decimal("6.82"),
        gross=Decimal("37.82"),
        payment_method=method,
        paid_on=date(2026, 3, 1),
    )
    values.update(kw)
    return Document(**values)


def _text(xml: bytes, path: str) -> list[str]:
    root = ElementTree.fromstring(xml)
    return [e.text or "" for e in root.iterfind(path)]


@pytest.mark.parametrize("method", list(PaymentMethod))
@pytest.mark.parametrize("kind", list(HolderKind))
def test_every_holder_kind_and_payment_method_is_valid(official, kind, method) -> None:
    xml = fatturapa.build_xml(_doc(BUYERS[kind], method))
    official.validate(xml.decode())
    assert _text(xml, ".//ModalitaPagamento") == [fatturapa.PAYMENT_MODES[method]]
    assert _text(xml, ".//TipoDocumento") == ["TD01"]
    assert _text(xml, ".//ImportoTotaleDocumento") == ["37.82"]
    assert _text(xml, ".//DatiRiepilogo/AliquotaIVA") == ["22.00"]
    assert _text(xml, ".//DatiRiepilogo/ImponibileImporto") == ["31.00"]
    assert _text(xml, ".//DatiRiepilogo/Imposta") == ["6.82"]
    assert _text(xml, ".//DettaglioLinee/DataInizioPeriodo") == ["2026-03-01"]


def test_methods_map_to_their_modes() -> None:
    assert fatturapa.PAYMENT_MODES[PaymentMethod.BANK_TRANSFER] == "MP05"
    assert fatturapa.PAYMENT_MODES[PaymentMethod.CARD] == "MP08"
    assert set(fatturapa.PAYMENT_MODES) == set(PaymentMethod)


def test_recipients_by_kind() -> None:
    business = fatturapa.build_xml(_doc(BUYERS[HolderKind.COMPANY], PaymentMethod.CARD))
    assert _text(business, ".//CodiceDestinatario") == ["KRRH6B9"]
    assert _text(business, ".//PECDestinatario") == []
    assert _text(business, ".//CessionarioCommittente//IdCodice") == ["12345678903"]
    pec = fatturapa.build_xml(_doc(BUYERS[HolderKind.PROFESSIONAL], PaymentMethod.CARD))
    assert _text(pec, ".//CodiceDestinatario") == ["0000000"]
    assert _text(pec, ".//PECDestinatario") == ["luca.bianchi@pec.example.it"]
    private = fatturapa.build_xml(_doc(BUYERS[HolderKind.PRIVATE], PaymentMethod.CARD))
    assert _text(private, ".//CodiceDestinatario") == ["0000000"]
    assert _text(private, ".//CessionarioCommittente//CodiceFiscale") == ["RSSMRA85T10A562S"]
    assert _text(private, ".//CessionarioCommittente//IdFiscaleIVA") == []
    root = ElementTree.fromstring(private)
    assert root.tag == f"{{{fatturapa.NAMESPACE}}}FatturaElettronica"
    assert root.get("versione") == "FPR12"


def test_public_administration_invoice(official) -> None:
    xml = fatturapa.build_xml(_doc(BUYERS[HolderKind.PUBLIC_ADMIN], PaymentMethod.BANK_TRANSFER))
    official.validate(xml.decode())
    assert ElementTree.fromstring(xml).get("versione") == "FPA12"
    assert _text(xml, ".//FormatoTrasmissione") == ["FPA12"]
    assert _text(xml, ".//CodiceDestinatario") == ["UFABCD"]
    assert _text(xml, ".//DatiOrdineAcquisto/CodiceCIG") == ["Z1A2B3C4D5"]
    assert _text(xml, ".//DatiOrdineAcquisto/CodiceCUP") == ["J11B22000000001"]
    assert _text(xml, ".//EsigibilitaIVA") == ["S"]
    # Split payment: the administration pays the taxable amount, the VAT goes to the state.
    assert _text(xml, ".//ImportoPagamento") == ["31.00"]
    assert _text(xml, ".//ModalitaPagamento") == ["MP05"]


def test_credit_note_names_the_invoice(official) -> None:
    xml = fatturapa.build_xml(
        _doc(
            BUYERS[HolderKind.COMPANY],
            PaymentMethod.CARD,
            document_type=fatturapa.CREDIT_NOTE,
            number="9/2026",
            related=("7/2026", date(2026, 3, 1)),
            causale="Rimborso ordine n. 1000000001",
        )
    )
    official.validate(xml.decode())
    assert _text(xml, ".//TipoDocumento") == ["TD04"]
    assert _text(xml, ".//DatiFattureCollegate/IdDocumento") == ["7/2026"]
    assert _text(xml, ".//DatiFattureCollegate/Data") == ["2026-03-01"]


def test_file_name_and_progressive() -> None:
    assert fatturapa.progressive(1) == "00001"
    assert fatturapa.progressive(36) == "00010"
    assert fatturapa.file_name(ISSUER, "0000A") == "IT01234567890_0000A.xml"
    other = Issuer(**{**ISSUER.__dict__, "transmitter_code": "RSSMRA85T10A562S"})
    assert fatturapa.file_name(other, "00001") == "ITRSSMRA85T10A562S_00001.xml"


def test_text_outside_latin1_is_refused_with_the_place() -> None:
    buyer = Buyer(**{**BUYERS[HolderKind.COMPANY].__dict__, "company_name": "Ωmega Σ S.r.l."})
    with pytest.raises(InvoiceInvalid) as caught:
        fatturapa.build_xml(_doc(buyer, PaymentMethod.CARD))
    assert "Denominazione" in caught.value.message


def test_missing_buyer_data_is_refused_in_words() -> None:
    buyer = Buyer(**{**BUYERS[HolderKind.PRIVATE].__dict__, "codice_fiscale": None})
    with pytest.raises(InvoiceInvalid, match="codice fiscale"):
        fatturapa.build_xml(_doc(buyer, PaymentMethod.CARD))
    with pytest.raises(InvoiceInvalid, match="address"):
        fatturapa.build_xml(
            _doc(Buyer(HolderKind.COMPANY, company_name="X", partita_iva="1"), PaymentMethod.CARD)
        )


def test_latin1_transliteration() -> None:
    assert fatturapa.latin1("Łódź “Ωmega”") == 'Lódz "Ωmega"'
    assert fatturapa.latin1("Città") == "Città"
    assert fatturapa.is_latin1("Città") and not fatturapa.is_latin1("Ω")


def test_the_package_ships_the_schema_byte_for_byte() -> None:
    ours = Path(fatturapa.__file__).parent / "fatturapa_schema"
    for name in (fatturapa.SCHEMA_FILE, fatturapa.XMLDSIG_FILE):
        assert (ours / name).read_bytes() == (SHARED / name).read_bytes()


def test_holder_fields_printed_on_the_invoice_are_latin1() -> None:
    from pec_tui.domain.holder import HolderData, normalise_holder, validate_holder

    data = HolderData(
        holder_id=None,
        version=0,
        kind=HolderKind.PRIVATE,
        first_name="Łukasz",
        last_name="Nowak",
        codice_fiscale="RSSMRA85T10A562S",
        street="Via “Roma” 1",
        cap="00184",
        city="Roma",
        province="RM",
        reference_email="lukasz@example.it",
    )
    assert validate_holder(data) == {}
    stored = normalise_holder(data)
    assert (stored.first_name, stored.street) == ("Lukasz", 'Via "Roma" 1')
    errors = validate_holder(HolderData(**{**data.__dict__, "last_name": "Ωmega"}))
    assert "Ω" in errors["last_name"]


def _encoder_xml(doc: Document) -> bytes:
    """What the schema's encoder (xmlschema) makes of the document."""
    return (fatturapa._DECLARATION + fatturapa._encoded_xml(fatturapa.invoice_data(doc))).encode()


PLAIN_CASES = [
    *((kind, method, {}) for kind in HolderKind for method in PaymentMethod),
    (
        HolderKind.COMPANY,
        PaymentMethod.CARD,
        dict(
            document_type=fatturapa.CREDIT_NOTE,
            related=("7/2026", date(2026, 3, 1)),
            causale="Rimborso ordine n. 1000000001",
        ),
    ),
    (
        HolderKind.PRIVATE,
        PaymentMethod.PREPAID_CREDIT,
        dict(
            causale="Ordine n. 1 & <altro> \"citato\" 'così' à è ÿ",
            lines=(
                Line("PEC & <Co> \"x\" 'y' città", Decimal(3), Decimal("1.5"), Decimal("4.50")),
                *LINES,
            ),
        ),
    ),
]


@pytest.mark.parametrize(("kind", "method", "changes"), PLAIN_CASES)
def test_plain_texts_are_written_as_the_schemas_encoder_writes_them(
    official, kind, method, changes
) -> None:
    doc = _doc(BUYERS[kind], method, **changes)
    fatturapa._plain_xml(fatturapa.invoice_data(doc))  # plain: not the encoder's way
    xml = fatturapa.build_xml(doc)
    assert xml == _encoder_xml(doc)
    official.validate(xml.decode())


@pytest.mark.parametrize(
    "text",
    ["two  spaces", " leading", "trailing ", "tab\there", "line\nbreak", "cr\rlf", "nbsp\xa0"],
)
def test_other_texts_go_through_the_schemas_encoder(official, text) -> None:
    line = Line(f"PEC {text}", Decimal(1), Decimal("25.00"), Decimal("25.00"))
    doc = _doc(BUYERS[HolderKind.COMPANY], PaymentMethod.CARD, lines=(line, *LINES[1:]))
    with pytest.raises(fatturapa._NotPlain):
        fatturapa._plain_xml(fatturapa.invoice_data(doc))
    xml = fatturapa.build_xml(doc)
    assert xml == _encoder_xml(doc)
    official.validate(xml.decode())


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ((b"<Nazione>IT</Nazione>", b"<Nazione>ITA</Nazione>"), "Nazione"),
        (
            (b"<TipoDocumento>TD01</TipoDocumento>", b"<TipoDocumento>XX</TipoDocumento>"),
            "TipoDocumento",
        ),
        ((b"<Divisa>EUR</Divisa>", b""), "Divisa"),
    ],
)
def test_a_document_outside_the_schema_is_refused_naming_the_element(change, reason) -> None:
    """libxml2 gives the verdict; the refusal's words come from xmlschema's error."""
    xml = fatturapa.build_xml(_doc(BUYERS[HolderKind.COMPANY], PaymentMethod.CARD))
    assert change[0] in xml
    with pytest.raises(InvoiceInvalid, match=reason):
        fatturapa.validate(xml.replace(change[0], change[1], 1))


def test_a_document_that_is_not_xml_or_brings_entities_is_refused() -> None:
    with pytest.raises(InvoiceInvalid, match="well-formed"):
        fatturapa.validate(b"<p:FatturaElettronica")
    xml = fatturapa.build_xml(_doc(BUYERS[HolderKind.COMPANY], PaymentMethod.CARD))
    declaration, _, body = xml.partition(b"?>")
    entity = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    with pytest.raises(InvoiceInvalid):
        fatturapa.validate(declaration + b"?>" + entity + body.replace(b"EUR", b"&e;", 1))


def test_invoices_are_validated_from_several_threads_at_once() -> None:
    """Each thread has its own lxml parser and schema (lxml shares neither)."""
    good = fatturapa.build_xml(_doc(BUYERS[HolderKind.COMPANY], PaymentMethod.CARD))
    bad = good.replace(b"<Divisa>EUR</Divisa>", b"", 1)

    def check(n: int) -> str:
        try:
            fatturapa.validate(bad if n % 5 == 0 else good)
        except InvoiceInvalid as exc:
            return str(exc)
        return "valid"

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(check, range(60)))
    assert outcomes.count("valid") == 48
    assert all("Divisa" in o for o in outcomes if o != "valid")
