"""Invoices made with the payment (SQLite and PostgreSQL): numbering, one per order, the
da_correggere path and its regeneration, tenancy, the e-mail's XML read back from a Maildir."""

from __future__ import annotations

import email
import email.policy
import mailbox
from datetime import date
from pathlib import Path
from xml.etree import ElementTree

import pytest
import xmlschema
from book_builder import (
    DEMO_ISSUER,
    add_holder,
    add_mailbox,
    add_reseller,
    confirm_renewal,
    set_issuer,
)
from sqlmodel import Session, select

from pec_tui.config import load_settings
from pec_tui.db.models import Holder, Invoice, Mailbox, Order, Payment
from pec_tui.domain import fatturapa
from pec_tui.domain.enums import HolderKind, InvoiceStatus, PaymentMethod, Role
from pec_tui.services import delivery, invoices, payments
from pec_tui.services.actor import SYSTEM, AccessDenied, Actor

TODAY = date(2026, 11, 26)
SHARED = Path(__file__).resolve().parents[3] / "shared" / "fatturapa"
if not SHARED.is_dir():
    SHARED = Path(fatturapa.__file__).parent / "fatturapa_schema"


@pytest.fixture(scope="module")
def official() -> xmlschema.XMLSchema10:
    return xmlschema.XMLSchema10(
        str(SHARED / fatturapa.SCHEMA_FILE),
        locations={fatturapa.XMLDSIG_NAMESPACE: str(SHARED / fatturapa.XMLDSIG_FILE)},
    )


def _texts(xml: str, path: str) -> list[str]:
    return [e.text or "" for e in ElementTree.fromstring(xml.encode()).iterfind(path)]


def _pay(engine, done, method=PaymentMethod.BANK_TRANSFER, on=TODAY, actor=SYSTEM):
    return payments.register_payment(
        engine, actor, done.number, done.quote.gross, method, on, today=on
    )


def _all_invoices(engine) -> list[Invoice]:
    with Session(engine) as session:
        return list(session.exec(select(Invoice).order_by(Invoice.id)))


def test_payment_issues_one_valid_invoice_numbered_per_year(engine, official):
    set_issuer(engine)
    holder = add_holder(engine)
    pro = add_mailbox(engine, holder, "mario.rossi@pec.it", date(2027, 1, 10), plan="PRO")
    std = add_mailbox(engine, holder, "studio.rossi@pec.it", date(2026, 12, 20))
    first = confirm_renewal(engine, [pro], TODAY, years=2)
    result = _pay(engine, first)
    assert result.invoice == "1/2026" and result.invoice_problem is None
    assert "Invoice 1/2026 issued." in result.message
    # The same payment registered again: still one invoice.
    assert _pay(engine, first).already_paid
    [invoice] = _all_invoices(engine)
    assert (invoice.year, invoice.number, invoice.status) == (2026, 1, "emessa")
    assert invoice.issued_on == TODAY and invoice.file_name == "IT01234560017_00001.xml"
    official.validate(invoice.xml)
    assert _texts(invoice.xml, ".//ImportoTotaleDocumento") == ["61.00"]
    assert _texts(invoice.xml, ".//DettaglioLinee/Descrizione") == ["PEC PRO - mario.rossi@pec.it"]
    assert _texts(invoice.xml, ".//DettaglioLinee/Quantita") == ["2.00"]
    assert _texts(invoice.xml, ".//DettaglioLinee/DataInizioPeriodo") == ["2027-01-10"]
    assert _texts(invoice.xml, ".//DettaglioLinee/DataFinePeriodo") == ["2029-01-10"]
    assert _texts(invoice.xml, ".//ModalitaPagamento") == ["MP05"]
    assert _texts(invoice.xml, ".//CodiceDestinatario") == ["0000000"]
    with Session(engine) as session:
        order = session.get(Order, first.order_id)
        assert invoice.gross_cents == order.gross_cents
        assert (invoice.net_cents, invoice.vat_cents) == (order.net_cents, order.vat_cents)

    second = confirm_renewal(engine, [std], TODAY)
    assert _pay(engine, second, PaymentMethod.CARD).invoice == "2/2026"
    third = confirm_renewal(engine, [pro], date(2027, 1, 2))
    assert _pay(engine, third, on=date(2027, 1, 2)).invoice == "1/2027"
    assert [(i.year, i.number) for i in _all_invoices(engine)] == [
        (2026, 1),
        (2026, 2),
        (2027, 1),
    ]


def test_no_issuer_keeps_the_invoice_waiting_and_the_payment(engine, official):
    holder = add_holder(engine)
    pro = add_mailbox(engine, holder, "mario.rossi@pec.it", date(2027, 1, 10), plan="PRO")
    done = confirm_renewal(engine, [pro], TODAY)
    result = _pay(engine, done)
    assert not result.already_paid and result.invoice == "1/2026"
    assert "issuer data" in (result.invoice_problem or "")
    with Session(engine) as session:
        assert session.exec(select(Payment)).one().order_id == done.order_id
        assert session.get(Mailbox, pro).expiry == date(2028, 1, 10)
    [waiting] = invoices.list_invoices(engine, SYSTEM, status=InvoiceStatus.TO_FIX)
    assert waiting.number == "1/2026" and waiting.xml is None
    changed = set_issuer(engine)
    assert changed.regenerated == ("1/2026",) and changed.still_to_fix == 0
    issued = invoices.get_invoice(engine, SYSTEM, "1/2026")
    assert issued.status is InvoiceStatus.ISSUED and issued.reason is None
    official.validate(issued.xml)


def test_an_order_without_a_snapshot_of_its_holder_is_invoiced_to_the_holder_as_now(
    engine, official
):
    """An order confirmed without the holder's snapshot (placed before the pipeline kept
    one, imported, or the demo book's) is invoiced to its holder as the holder is now, not
    left da correggere for want of billing data."""
    set_issuer(engine)
    holder = add_holder(engine, ("Giulia", "Bianchi"), "giulia.bianchi@example.it")
    box = add_mailbox(engine, holder, "giulia.bianchi@pec.it", date(2027, 1, 10))
    done = confirm_renewal(engine, [box], TODAY)
    with Session(engine) as session:
        order = session.get_one(Order, done.order_id)
        order.holder_snapshot = None
        session.add(order)
        session.get_one(Holder, holder).city = "Bologna"  # changed since the order
        session.commit()
    result = _pay(engine, done)
    assert result.invoice == "1/2026" and result.invoice_problem is None
    [invoice] = _all_invoices(engine)
    assert invoice.status == InvoiceStatus.ISSUED.value
    assert invoice.buyer_name == "Giulia Bianchi"
    official.validate(invoice.xml)
    assert _texts(invoice.xml, ".//CessionarioCommittente//Nome") == ["Giulia"]
    assert _texts(invoice.xml, ".//CessionarioCommittente/Sede/Comune") == ["Bologna"]


def test_invalid_holder_waits_then_fixed_and_regenerated(engine, official):
    """A billing PEC the holder form takes (an accented address) but FatturaPA's EmailType
    refuses: the invoice waits, the payment does not; fixed, it is regenerated."""
    set_issuer(engine)
    holder = add_holder(engine, name=("José", "Rossi"))
    with Session(engine) as session:
        row = session.get(Holder, holder)
        row.kind = HolderKind.PROFESSIONAL.value
        row.partita_iva = "02438750586"
        row.sdi_code = "0000000"
        row.billing_pec = "josé.rossi@pec.it"
        session.add(row)
        session.commit()
    pro = add_mailbox(engine, holder, "jose.rossi@pec.it", date(2027, 1, 10), plan="PRO")
    done = confirm_renewal(engine, [pro], TODAY)
    result = _pay(engine, done)
    assert not result.already_paid
    assert result.invoice == "1/2026" and "PECDestinatario" in (result.invoice_problem or "")
    with Session(engine) as session:
        assert session.exec(select(Payment)).one().order_id == done.order_id
    listed = invoices.list_invoices(engine, SYSTEM, status=InvoiceStatus.TO_FIX)
    assert [i.number for i in listed] == ["1/2026"]
    assert "PECDestinatario" in (listed[0].reason or "")
    # Still waiting after a regeneration with the same data.
    assert invoices.regenerate(engine, SYSTEM, "1/2026").status is InvoiceStatus.TO_FIX
    with Session(engine) as session:
        row = session.get(Holder, holder)
        row.billing_pec = "jose.rossi@pec.it"
        session.add(row)
        session.commit()
    fixed = invoices.regenerate(engine, SYSTEM, "1/2026")
    assert fixed.status is InvoiceStatus.ISSUED and fixed.reason is None
    official.validate(fixed.xml)
    assert _texts(fixed.xml, ".//PECDestinatario") == ["jose.rossi@pec.it"]
    assert _texts(fixed.xml, ".//CessionarioCommittente//Nome") == ["José"]
    with pytest.raises(invoices.InvoiceRefused, match="already issued"):
        invoices.regenerate(engine, SYSTEM, "1/2026")


@pytest.mark.parametrize("kind", [HolderKind.COMPANY, HolderKind.PUBLIC_ADMIN])
def test_business_and_public_buyers(engine, official, kind):
    set_issuer(engine)
    holder = add_holder(engine)
    with Session(engine) as session:
        row = session.get(Holder, holder)
        row.kind = kind.value
        row.company_name = row.display_name = (
            "Comune di Roma" if kind.value != "azienda" else "Acme S.p.A."
        )
        row.first_name = row.last_name = None
        row.partita_iva = "02438750586"
        row.codice_fiscale = "02438750586"
        if kind is HolderKind.PUBLIC_ADMIN:
            row.pa_office_code, row.cig, row.cup, row.split_payment = (
                "UFABCD",
                "Z1A2B3C4D5",
                "J11B22000000001",
                True,
            )
        else:
            row.sdi_code = "KRRH6B9"
        session.add(row)
        session.commit()
    pro = add_mailbox(engine, holder, "ufficio@pec.it", date(2027, 1, 10), plan="PRO")
    done = confirm_renewal(engine, [pro], TODAY)
    _pay(engine, done, PaymentMethod.CARD)
    [invoice] = _all_invoices(engine)
    official.validate(invoice.xml)
    if kind is HolderKind.PUBLIC_ADMIN:
        assert _texts(invoice.xml, ".//FormatoTrasmissione") == ["FPA12"]
        assert _texts(invoice.xml, ".//CodiceDestinatario") == ["UFABCD"]
        assert _texts(invoice.xml, ".//DatiOrdineAcquisto/CodiceCIG") == ["Z1A2B3C4D5"]
        assert _texts(invoice.xml, ".//EsigibilitaIVA") == ["S"]
    else:
        assert _texts(invoice.xml, ".//CodiceDestinatario") == ["KRRH6B9"]
        assert _texts(invoice.xml, ".//Denominazione")[-1] == "Acme S.p.A."


def test_resellers_see_only_their_own_invoices(engine):
    set_issuer(engine)
    ours, theirs = add_reseller(engine, "Nostra"), add_reseller(engine, "Altra")
    actors = {r: Actor(name=f"op{r}", role=Role.RESELLER, reseller_id=r) for r in (ours, theirs)}
    for reseller, address in ((ours, "a@pec.it"), (theirs, "b@pec.it")):
        holder = add_holder(engine, reseller_id=reseller, email=f"h{reseller}@example.it")
        box = add_mailbox(engine, holder, address, date(2027, 1, 10), reseller_id=reseller)
        done = confirm_renewal(engine, [box], TODAY, actor=actors[reseller])
        _pay(engine, done)  # the provider registers the payment
    assert [i.number for i in invoices.list_invoices(engine, SYSTEM)] == ["1/2026", "2/2026"]
    assert [i.number for i in invoices.list_invoices(engine, actors[ours])] == ["1/2026"]
    assert [i.number for i in invoices.list_invoices(engine, actors[theirs])] == ["2/2026"]
    with pytest.raises(AccessDenied):
        invoices.get_invoice(engine, actors[ours], "2/2026")
    with pytest.raises(LookupError):
        invoices.get_invoice(engine, actors[ours], "9/2026")


def test_payment_email_carries_the_xml_read_back_from_the_maildir(engine, tmp_path, official):
    set_issuer(engine)
    holder = add_holder(engine)
    pro = add_mailbox(engine, holder, "mario.rossi@pec.it", date(2027, 1, 10), plan="PRO")
    done = confirm_renewal(engine, [pro], TODAY)
    _pay(engine, done)
    settings = load_settings(maildir=tmp_path / "Maildir")
    assert delivery.flush_outbox(engine, settings).sent == 2
    box = mailbox.Maildir(tmp_path / "Maildir", create=False)
    messages = [email.message_from_bytes(m.as_bytes(), policy=email.policy.default) for m in box]
    [paid] = [m for m in messages if "Rinnovo completato" in str(m["Subject"])]
    [attachment] = list(paid.iter_attachments())
    assert attachment.get_filename() == "IT01234560017_00001.xml"
    assert attachment.get_content_type() == "application/xml"
    xml = attachment.get_content()
    official.validate(xml.decode() if isinstance(xml, bytes) else xml)
    [invoice] = _all_invoices(engine)
    content = xml if isinstance(xml, bytes) else xml.encode()
    assert content == invoice.xml.encode()


def test_export_writes_the_sdi_file_names(engine, tmp_path):
    set_issuer(engine)
    holder = add_holder(engine)
    pro = add_mailbox(engine, holder, "mario.rossi@pec.it", date(2027, 1, 10), plan="PRO")
    _pay(engine, confirm_renewal(engine, [pro], TODAY))
    result = invoices.export_invoices(engine, SYSTEM, tmp_path / "out", all_invoices=True)
    assert [p.name for p in result.written] == ["IT01234560017_00001.xml"]
    assert result.written[0].read_bytes().startswith(b"<?xml")
    assert DEMO_ISSUER.vat_number in result.written[0].read_text()


def test_a_long_order_is_invoiced_by_item(official):
    from pec_tui.services.order_lines import LineFacts

    facts = [
        LineFacts(i, i, f"box{i}@pec.it", "PRO", 1, 2, 2500, 5000, "PRO", 0, 0)
        for i in range(1, 151)
    ] + [LineFacts(999, 7, "box7@pec.it", "EXTRA_MAILBOX_GB", 3, 2, 300, 1800, None, 0, 0)]
    periods = {i: (date(2027, 1, 10), date(2029, 1, 10)) for i in range(1, 151)}
    rows = invoices.invoice_lines(
        facts, {**{i: "PEC PRO" for i in range(1, 151)}, 999: "Extra mailbox GB"}, periods
    )
    assert len(rows) == 151 and rows[0]["description"] == "PEC PRO - box1@pec.it"
    lines = invoices.document_lines(rows)
    assert [(line.description, line.quantity, line.total) for line in lines] == [
        ("PEC PRO (150 mailboxes)", 300, 7500),
        ("Extra mailbox GB (1 mailbox)", 6, 18),
    ]
    assert (lines[0].period_start, lines[0].period_end) == (date(2027, 1, 10), date(2029, 1, 10))
    assert invoices.document_lines(rows[:100])[99].description == "PEC PRO - box100@pec.it"
