"""`pec-tui invoices issuer|list|show|export|regenerate` and `orders refund` (TD04)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest
import xmlschema
from book_builder import add_holder, add_mailbox, add_reseller, get
from click.testing import CliRunner
from sqlmodel import Session

from pec_tui.cli import main
from pec_tui.db.models import Holder, Mailbox, Order, Reseller
from pec_tui.domain import fatturapa
from pec_tui.domain.lifecycle import add_years

TODAY = date.today()
YEAR = TODAY.year
EXPIRY = TODAY + timedelta(days=40)
CONSENTS = ["--accept-terms", "--accept-clauses", "--accept-privacy"]
ISSUER = [
    "--name", "PEC Italia S.r.l.", "--vat", "01234560017", "--street", "Via Roma 1",
    "--cap", "00184", "--city", "Roma", "--province", "RM", "--rea-office", "RM",
    "--rea-number", "1234567",
]  # fmt: skip
SHARED = Path(__file__).resolve().parents[3] / "shared" / "fatturapa"
if not SHARED.is_dir():
    SHARED = Path(fatturapa.__file__).parent / "fatturapa_schema"


@pytest.fixture(scope="module")
def official() -> xmlschema.XMLSchema10:
    return xmlschema.XMLSchema10(
        str(SHARED / fatturapa.SCHEMA_FILE),
        locations={fatturapa.XMLDSIG_NAMESPACE: str(SHARED / fatturapa.XMLDSIG_FILE)},
    )


@pytest.fixture
def cli(engine, db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("PEC_TUI_MAILDIR", str(tmp_path / "Maildir"))
    # Scripts act as the system even once operators exist (the reseller test signs one in).
    monkeypatch.setenv("PEC_TUI_SYSTEM", "1")
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True, input: str | None = None, **env: str):
        result = runner.invoke(
            main, ["--database-url", db_url, *args], input=input, env=env, catch_exceptions=False
        )
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke


def _paid_order(cli, engine, address="mario.rossi@pec.it", method="bonifico", reseller=None):
    holder = add_holder(engine, reseller_id=reseller)
    box = add_mailbox(engine, holder, address, EXPIRY, plan="PRO", reseller_id=reseller)
    out = cli(
        "renew", address, "--years", "1", "--payment-method", method, *CONSENTS,
        "--format", "json",
    )  # fmt: skip
    number = str(json.loads(out.output)["number"])
    if method != "credito":
        cli("payments", "register", number, "--amount", "30,50", "--method", method)
    return box, holder, number


def test_issuer_set_shown_and_refused_when_incomplete(cli):
    missing = cli("invoices", "issuer", ok=False)
    assert missing.exit_code == 1 and "not set" in missing.output
    partial = cli("invoices", "issuer", "--name", "X", ok=False)
    assert partial.exit_code == 2 and "--vat" in partial.output
    bad = cli("invoices", "issuer", *ISSUER[:2], "--vat", "01234567890", *ISSUER[4:], ok=False)
    assert bad.exit_code == 1 and "partita IVA" in bad.output
    assert "Issuer data saved." in cli("invoices", "issuer", *ISSUER).output
    shown = json.loads(cli("invoices", "issuer", "--format", "json").output)
    assert (shown["name"], shown["vat_number"], shown["regime_fiscale"]) == (
        "PEC Italia S.r.l.",
        "01234560017",
        "RF01",
    )
    cli("invoices", "issuer", "--email", "fatture@pecitalia.example")
    text = cli("invoices", "issuer").output
    assert "fatture@pecitalia.example" in text and "IT01234560017" in text


def test_list_show_export_and_waiting_invoice(cli, engine, tmp_path, official):
    _box, holder, number = _paid_order(cli, engine)
    waiting = json.loads(
        cli("invoices", "list", "--status", "da_correggere", "--format", "json").output
    )
    assert [(i["number"], i["order"]) for i in waiting] == [(f"1/{YEAR}", int(number))]
    assert "issuer" in waiting[0]["reason"]
    refused = cli("invoices", "export", f"1/{YEAR}", "--dir", str(tmp_path / "x"), ok=False)
    assert refused.exit_code == 1 and "not exported" in refused.output
    saved = cli("invoices", "issuer", *ISSUER).output
    assert f"Invoices regenerated: 1/{YEAR}." in saved
    rows = list(csv.DictReader(io.StringIO(cli("invoices", "list", "--format", "csv").output)))
    assert [(r["number"], r["status"], r["gross"]) for r in rows] == [
        (f"1/{YEAR}", "emessa", "30.50")
    ]
    shown = cli("invoices", "show", "1").output
    assert (
        f"Invoice 1/{YEAR}" in shown
        and "Mario Rossi" in shown
        and "30.50" in shown.replace(",", ".")
    )
    xml = cli("invoices", "show", f"1/{YEAR}", "--format", "xml").output
    official.validate(xml.strip())
    out = cli("invoices", "export", "--all", "--dir", str(tmp_path / "out")).output
    [path] = list((tmp_path / "out").iterdir())
    assert path.name == "IT01234560017_00001.xml" and path.name in out
    official.validate(str(path))
    assert cli("invoices", "regenerate", f"1/{YEAR}", ok=False).exit_code == 1


def test_reseller_lists_only_its_invoices(cli, engine):
    cli("invoices", "issuer", *ISSUER)
    ours, theirs = add_reseller(engine, "Nostra"), add_reseller(engine, "Altra")
    _paid_order(cli, engine, "a@pec.it", reseller=ours)
    _paid_order(cli, engine, "b@pec.it", reseller=theirs)
    cli("operators", "add", "nostra", "--role", "rivenditore", "--reseller-id", str(ours),
        "--password-stdin", input="nostra-password\n")  # fmt: skip
    # With an operator in the database, scripts act as the system through its token.
    from pec_tui.services.actor import SYSTEM
    from pec_tui.services.auth import issue_system_token

    system = {"PEC_TUI_TOKEN": issue_system_token(engine, SYSTEM)}
    assert len(json.loads(cli("invoices", "list", "--format", "json", **system).output)) == 2

    def as_reseller(*args: str, ok: bool = True):
        return cli("--operator", "nostra", *args, ok=ok, PEC_TUI_PASSWORD="nostra-password")

    listed = json.loads(as_reseller("invoices", "list", "--format", "json").output)
    assert [i["number"] for i in listed] == [f"1/{YEAR}"]
    # Another reseller's invoice answers as a missing one (exit status 1), not as a refusal.
    theirs = as_reseller("invoices", "show", f"2/{YEAR}", ok=False)
    missing = as_reseller("invoices", "show", f"99/{YEAR}", ok=False)
    assert theirs.exit_code == missing.exit_code == 1
    assert theirs.output.replace(f"2/{YEAR}", "N") == missing.output.replace(f"99/{YEAR}", "N")
    assert as_reseller("invoices", "issuer", "--name", "Altro", ok=False).exit_code == 77


def test_refund_takes_back_the_renewal_and_issues_a_credit_note(cli, engine, official):
    cli("invoices", "issuer", *ISSUER)
    box, _holder, number = _paid_order(cli, engine)
    assert get(engine, Mailbox, box).expiry == add_years(EXPIRY, 1)
    out = cli("orders", "refund", number, "--reason", "Doppio pagamento").output
    assert f"Credit note 2/{YEAR} issued." in out
    assert get(engine, Mailbox, box).expiry == EXPIRY
    with Session(engine) as session:
        assert session.get(Order, 1).status == "rimborsato"
    xml = cli("invoices", "show", f"2/{YEAR}", "--format", "xml").output.strip()
    official.validate(xml)
    root = ElementTree.fromstring(xml.encode())
    assert root.findtext(".//TipoDocumento") == "TD04"
    assert root.findtext(".//DatiFattureCollegate/IdDocumento") == f"1/{YEAR}"
    assert root.findtext(".//ImportoTotaleDocumento") == "30.50"
    again = cli("orders", "refund", number, "--reason", "Doppio pagamento").output
    assert "already refunded" in again
    paid_again = cli("payments", "register", number, "--amount", "30,50", "--method", "bonifico",
                     ok=False)  # fmt: skip
    assert paid_again.exit_code == 1 and "refunded" in paid_again.output


def test_refund_of_a_credit_payment_gives_the_credit_back(cli, engine):
    cli("invoices", "issuer", *ISSUER)
    reseller = add_reseller(engine, credit_cents=5_000)
    _box, _holder, number = _paid_order(cli, engine, method="credito", reseller=reseller)
    assert get(engine, Reseller, reseller).credit_cents == 5_000 - 3_050
    cli("orders", "refund", number, "--reason", "Errore")
    assert get(engine, Reseller, reseller).credit_cents == 5_000
    listed = json.loads(cli("invoices", "list", "--format", "json").output)
    assert [(i["number"], i["type"], i["payment_method"]) for i in listed] == [
        (f"1/{YEAR}", "TD01", "credito"),
        (f"2/{YEAR}", "TD04", "credito"),
    ]


def test_unpaid_order_cannot_be_refunded(cli, engine):
    holder = add_holder(engine)
    add_mailbox(engine, holder, "x@pec.it", EXPIRY, plan="PRO")
    out = cli("renew", "x@pec.it", "--years", "1", "--payment-method", "bonifico", *CONSENTS,
              "--format", "json")  # fmt: skip
    number = str(json.loads(out.output)["number"])
    refused = cli("orders", "refund", number, "--reason", "x", ok=False)
    assert refused.exit_code == 1 and "not paid" in refused.output
    with Session(engine) as session:
        assert session.get(Holder, holder) is not None
