"""`pec-tui renew --expiring-within` (the list's `t` rule) and `--from-file FILE|-` (any number
of addresses), alone or with ADDRESS arguments; refusals order nothing."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import date, timedelta

import pytest
from book_builder import add_holder, add_mailbox, add_reseller
from click.testing import CliRunner
from sqlalchemy import func, insert, select
from sqlmodel import Session

from pec_tui.cli import main
from pec_tui.db.models import Mailbox, OpenRenewal, Order, OrderLine, OutboxMessage
from pec_tui.domain.enums import OrderStatus
from pec_tui.domain.lifecycle import renewed_expiry
from pec_tui.services import payments
from pec_tui.services.actor import SYSTEM

TODAY = date.today()
CONSENTS = ["--accept-terms", "--accept-clauses", "--accept-privacy"]
ORDER = ["--years", "1", "--payment-method", "bonifico", *CONSENTS]


def _renew(db_url: str, *args: str, stdin: str | None = None):
    return CliRunner().invoke(main, ["--database-url", db_url, "renew", *args], input=stdin)


def _placed(engine) -> list[tuple[int, list[str]]]:
    """(reseller, addresses ordered) of every confirmed order, by number."""
    with Session(engine) as session:
        orders = session.execute(
            select(Order.id, Order.reseller_id)
            .where(Order.status == OrderStatus.AWAITING_PAYMENT.value)
            .order_by(Order.number)
        ).all()
        return [
            (
                reseller,
                sorted(
                    session.execute(
                        select(OrderLine.address).where(
                            OrderLine.order_id == order_id, OrderLine.plan.is_not(None)
                        )
                    ).scalars()
                ),
            )
            for order_id, reseller in orders
        ]


def _order_count(engine) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(Order)).scalar_one()


@pytest.fixture
def book(engine):
    nord = add_reseller(engine, "Nord Srl", email="ordini@nord.example.it")
    sud = add_reseller(engine, "Sud Srl", email="ordini@sud.example.it")
    anna = add_holder(engine, ("Anna", "Bianchi"), "anna@example.it", reseller_id=nord)
    sara = add_holder(engine, ("Sara", "Neri"), "sara@example.it", reseller_id=sud)
    soon = TODAY + timedelta(days=20)
    add_mailbox(engine, anna, "anna@pec.it", soon, reseller_id=nord)
    add_mailbox(engine, anna, "anna.studio@pec.it", TODAY + timedelta(days=80), reseller_id=nord)
    # Outside three months, renewing by itself: never chosen by the rule.
    add_mailbox(engine, anna, "anna.later@pec.it", TODAY + timedelta(days=200), reseller_id=nord)
    add_mailbox(engine, anna, "anna.auto@pec.it", soon, reseller_id=nord, auto_renew=True)
    add_mailbox(engine, sara, "sara@pec.it", soon, reseller_id=sud)
    return {"nord": nord, "sud": sud}


def test_expiring_within_takes_the_lists_rule_one_order_per_reseller(engine, db_url, book):
    result = _renew(db_url, "--expiring-within", "3m", *ORDER)

    assert result.exit_code == 0, result.output
    assert _placed(engine) == [
        (book["nord"], ["anna.studio@pec.it", "anna@pec.it"]),
        (book["sud"], ["sara@pec.it"]),
    ]
    # Mailboxes now on an order leave the rule: a second pass finds none and orders nothing.
    again = _renew(db_url, "--expiring-within", "3m", *ORDER)
    assert again.exit_code == 1
    assert "3m" in again.output and "Traceback" not in again.output
    assert len(_placed(engine)) == 2


def test_expiring_within_together_with_an_address(engine, db_url, book):
    result = _renew(db_url, "anna.later@pec.it", "--expiring-within", "30d", *ORDER)

    assert result.exit_code == 0, result.output
    assert _placed(engine) == [
        (book["nord"], ["anna.later@pec.it", "anna@pec.it"]),
        (book["sud"], ["sara@pec.it"]),
    ]


def test_expiring_within_refuses_a_period_that_is_not_one(db_url, book):
    result = _renew(db_url, "--expiring-within", "3 mesi", *ORDER)

    assert result.exit_code == 2
    assert "3 mesi" in result.output


def test_from_standard_input_skips_blanks_comments_and_repeats(engine, db_url, book):
    listing = "# the studio's mailboxes\n\n  ANNA@pec.it \nanna.studio@pec.it\r\nanna@pec.it\n"
    result = _renew(db_url, "--from-file", "-", "sara@pec.it", *ORDER, stdin=listing)

    assert result.exit_code == 0, result.output
    assert _placed(engine) == [
        (book["nord"], ["anna.studio@pec.it", "anna@pec.it"]),
        (book["sud"], ["sara@pec.it"]),
    ]


def test_from_file_names_the_bad_lines_and_orders_nothing(engine, db_url, book, tmp_path):
    listing = tmp_path / "caselle.txt"
    listing.write_text("anna@pec.it\nnot an address\n\nsara@pec.it;\n", encoding="utf-8")
    before = _order_count(engine)

    result = _renew(db_url, "--from-file", str(listing), *ORDER)

    assert result.exit_code == 1
    assert "2" in result.output and "not an address" in result.output
    assert "2:" in result.output or " 2" in result.output
    assert " 4" in result.output or "4:" in result.output
    assert "Traceback" not in result.output
    assert _order_count(engine) == before


def test_from_file_names_the_line_of_an_unknown_address(engine, db_url, book, tmp_path):
    listing = tmp_path / "caselle.txt"
    listing.write_text("anna@pec.it\n# gone\nnobody@pec.it\n", encoding="utf-8")

    result = _renew(db_url, "--from-file", str(listing), *ORDER)

    assert result.exit_code == 1
    assert "nobody@pec.it" in result.output and "3" in result.output
    assert _order_count(engine) == 0


def test_an_address_the_rule_would_skip_is_refused_when_named(engine, db_url, book):
    result = _renew(db_url, "anna.auto@pec.it", "--expiring-within", "3m", *ORDER)

    assert result.exit_code == 1
    assert "anna.auto@pec.it" in result.output
    assert _order_count(engine) == 0


def test_no_mailboxes_named_is_a_usage_error(db_url, book):
    result = _renew(db_url, *ORDER)

    assert result.exit_code == 2
    assert "--from-file" in result.output and "--expiring-within" in result.output


def _many_mailboxes(engine, count: int) -> tuple[int, list[str]]:
    """`count` mailboxes of one reseller's two holders, written in one statement."""
    reseller = add_reseller(engine, "Grande Srl", email="ordini@grande.example.it")
    holders = [
        add_holder(engine, ("Gina", "Grandi"), "gina@example.it", reseller_id=reseller),
        add_holder(engine, ("Ugo", "Grandi"), "ugo@example.it", reseller_id=reseller),
    ]
    addresses = [f"casella{i:05d}@pec.example.it" for i in range(count)]
    with Session(engine) as session:
        session.execute(
            insert(Mailbox),
            [
                {
                    "address": address,
                    "holder_id": holders[i % 2],
                    "reseller_id": reseller,
                    "plan": ("STANDARD", "PRO", "PREMIUM")[i % 3],
                    "extra_mailbox_gb": i % 2,
                    "expiry": TODAY + timedelta(days=1 + i % 80),
                }
                for i, address in enumerate(addresses)
            ],
        )
        session.commit()
    return reseller, addresses


def test_five_thousand_addresses_from_a_file_then_paid(engine, db_url, tmp_path):
    reseller, addresses = _many_mailboxes(engine, 5_000)
    listing = tmp_path / "caselle.txt"
    listing.write_text("\n".join(addresses) + "\n", encoding="utf-8")

    result = _renew(db_url, "--from-file", str(listing), *ORDER, "--format", "json")

    assert result.exit_code == 0, result.output
    # The progress bar goes to standard error; the order to standard output.
    assert "Renewing 5000 mailboxes" in result.stderr or "5000" in result.stderr
    placed = json.loads(result.stdout)
    assert len(placed["mailboxes"]) == 5_000
    with Session(engine) as session:
        order = session.get(Order, placed["order_id"])
        assert order is not None and order.reseller_id == reseller
        reserved = session.execute(
            select(func.count()).select_from(OpenRenewal).where(OpenRenewal.order_id == order.id)
        ).scalar_one()
        assert reserved == 5_000
        [(to, message)] = session.execute(
            select(OutboxMessage.to_address, OutboxMessage.message).where(
                OutboxMessage.order_id == order.id
            )
        ).all()
    # The reseller's e-mail sums the order up by plan; the order lists each mailbox.
    body = _body(message)
    assert to == "ordini@grande.example.it"
    assert "casella00001@pec.example.it" not in body
    assert "5.000" in body

    paid = payments.register_payment(
        engine, SYSTEM, placed["number"], payments.parse_money(placed["gross"]), "bonifico"
    )
    assert len(paid.renewed) == 5_000
    with Session(engine) as session:
        expiries = dict(session.execute(select(Mailbox.address, Mailbox.expiry)).all())
        left = session.execute(select(func.count()).select_from(OpenRenewal)).scalar_one()
    assert left == 0
    for i in (0, 1, 4_999):
        old = TODAY + timedelta(days=1 + i % 80)
        assert expiries[f"casella{i:05d}@pec.example.it"] == renewed_expiry(old, 1)


def _body(message: str) -> str:
    parsed = email.message_from_string(message, policy=email.policy.default)
    part = parsed.get_body(("plain",))
    assert part is not None
    return part.get_content()


def test_ctrl_c_while_ordering_orders_nothing(engine, db_url, book, monkeypatch):
    from pec_tui.services import orders

    real = orders.place_order
    calls = []

    def interrupted_after_the_first_order(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(orders, "place_order", interrupted_after_the_first_order)
    result = _renew(db_url, "--expiring-within", "3m", *ORDER)

    assert result.exit_code == 130
    assert "Traceback" not in result.output
    assert len(calls) == 2  # the first reseller's order was placed, then rolled back
    assert _order_count(engine) == 0
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(OpenRenewal)).scalar_one() == 0


def test_a_kit_with_several_resellers_is_refused(engine, db_url, book):
    result = _renew(db_url, "--expiring-within", "3m", "--kit", "usb_token", *ORDER)

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert _order_count(engine) == 0
