"""Bank statement import: transfers matched by order number in the causale and by amount."""

from __future__ import annotations

from datetime import date

import pytest
from book_builder import add_holder, add_mailbox, confirm_renewal, get
from sqlmodel import Session, select

from pec_tui.db.models import Mailbox, Payment
from pec_tui.services import payments
from pec_tui.services.actor import SYSTEM
from pec_tui.services.statement import (
    Outcome,
    StatementError,
    StatementRejected,
    import_statement,
    order_numbers_in,
    read_statement,
)

# These tests read Italian money, dates and words: the product's default language.
pytestmark = pytest.mark.usefixtures("italian")

TODAY = date(2026, 12, 10)


@pytest.fixture
def three_orders(engine):
    holder = add_holder(engine)
    boxes = [
        add_mailbox(engine, holder, f"box{i}@pec.it", date(2027, 1, 10 + i), plan=plan)
        for i, plan in enumerate(("STANDARD", "PRO", "PRO", "STANDARD"))
    ]
    first = confirm_renewal(engine, [boxes[0]], date(2026, 12, 1))  # 12,08 €
    second = confirm_renewal(engine, [boxes[1]], date(2026, 12, 1))  # 30,50 €
    third = confirm_renewal(engine, [boxes[2]], date(2026, 12, 1))  # 30,50 €
    cancelled = confirm_renewal(engine, [boxes[3]], date(2026, 12, 1))
    payments.cancel_order(engine, SYSTEM, cancelled.number)
    return boxes, first.number, second.number, third.number, cancelled.number


def _statement(rows: list[str]) -> str:
    return "\n".join(["Data operazione;Data valuta;Importo;Causale", *rows]) + "\n"


def test_matches_by_number_and_amount_registers_once(engine, three_orders):
    boxes, first, second, third, cancelled = three_orders
    text = _statement(
        [
            f"05/12/2026;05/12/2026;12,08;BONIFICO DA MARIO ROSSI ORDINE {first}",
            f"06/12/2026;06/12/2026;30,50;RINNOVO PEC ORD.{second} E {third}",
            f"06/12/2026;06/12/2026;31,00;SALDO ORDINE {third}",
            "07/12/2026;07/12/2026;-50,00;COMMISSIONI",
            "07/12/2026;07/12/2026;99,00;PAGAMENTO SENZA RIFERIMENTI",
            f"08/12/2026;08/12/2026;12,08;ORDINE {cancelled}",
            "08/12/2026;08/12/2026;12,08;ORDINE 1999999999",
            ";;;Saldo finale",
        ]
    )
    report = import_statement(engine, SYSTEM, text, "dicembre.csv", today=TODAY)
    by_line = {r.line_no: r for r in report.results}
    assert by_line[2].outcome is Outcome.MATCHED and by_line[2].order_number == first
    assert by_line[3].outcome is Outcome.AMBIGUOUS and str(second) in by_line[3].reason
    assert by_line[4].outcome is Outcome.UNMATCHED and "30,50" in by_line[4].reason
    assert by_line[5].outcome is Outcome.SKIPPED
    assert by_line[6].outcome is Outcome.UNMATCHED
    assert by_line[7].outcome is Outcome.UNMATCHED and by_line[7].order_number == cancelled
    assert by_line[8].outcome is Outcome.UNMATCHED and "1999999999" in by_line[8].reason
    assert by_line[9].outcome is Outcome.SKIPPED  # no date, no amount: not a transfer
    assert report.counts == {
        "matched": 1,
        "already_paid": 0,
        "unmatched": 4,
        "ambiguous": 1,
        "skipped": 2,
    }
    assert get(engine, Mailbox, boxes[0]).expiry == date(2028, 1, 10)
    with Session(engine) as session:
        payment = session.exec(select(Payment)).one()
        assert payment.paid_on == date(2026, 12, 5) and payment.method == "bonifico"
        assert payment.reference.startswith("dicembre.csv:2")

    again = import_statement(engine, SYSTEM, text, "dicembre.csv", today=TODAY)
    assert again.counts["matched"] == 0 and again.counts["already_paid"] == 1
    assert get(engine, Mailbox, boxes[0]).expiry == date(2028, 1, 10)


def test_other_layouts_comma_separated_and_credit_column(engine, three_orders):
    _boxes, first, second, _third, _cancelled = three_orders
    text = (
        "Estratto conto\n"
        "Date,Description,Credit,Debit\n"
        f'2026-12-05,"Transfer ref {second}, thanks","30.50",\n'
        f"2026-12-05,Order {first},12.08,\n"
        "2026-12-06,Fee,,1.50\n"
    )
    report = import_statement(engine, SYSTEM, text, "export.csv", today=TODAY)
    assert report.counts["matched"] == 2 and report.counts["skipped"] == 1


def test_a_booking_date_after_today_is_registered_as_today(engine, three_orders):
    _boxes, first, *_ = three_orders
    text = _statement([f"31/12/2026;31/12/2026;12,08;ORDINE {first}"])
    assert import_statement(engine, SYSTEM, text, today=TODAY).counts["matched"] == 1
    with Session(engine) as session:
        assert session.exec(select(Payment)).one().paid_on == TODAY


def test_unreadable_files_are_refused():
    with pytest.raises(StatementError):
        read_statement("a;b;c\n1;2;3\n")
    with pytest.raises(StatementError):
        read_statement("Causale;Note\nx;y\n")


def test_order_numbers_in_causale():
    assert order_numbers_in("ORD.1000000001/1000000002 x 10000000030") == [1000000001, 1000000002]
    assert order_numbers_in("IBAN IT60X0542811101000000123456") == []


def _payments(engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(Payment)).all())


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ("xx/12/2026;08/12/2026;12,08;ORDINE 1000000000", "non è una data"),
        ("05/12/9999;05/12/9999;12,08;ORDINE 1000000000", "fuori dagli anni dal 2000 al 2100"),
        ("05/12/2026;05/12/2026;١٢,08;ORDINE 1000000000", "non è un importo"),
        ("05/12/2026;05/12/2026;99999999999999999999,00;ORDINE", "troppo grande"),
        ("05/12/2026;05/12/2026;12,08;ORDINE\x00 1000000000", "U+0000"),
        ("05/12/2026;05/12/2026;12,08;" + "x" * 1001, "al massimo 1000 caratteri"),
    ],
)
def test_a_line_that_cannot_be_read_refuses_the_whole_statement(
    engine, three_orders, bad_line, reason
):
    boxes, first, *_ = three_orders
    text = _statement([f"05/12/2026;05/12/2026;12,08;ORDINE {first}", bad_line])
    with pytest.raises(StatementRejected) as rejected:
        import_statement(engine, SYSTEM, text, "x.csv", today=TODAY)
    [problem] = rejected.value.problems
    assert problem.line == 3 and reason in str(problem), str(problem)
    assert _payments(engine) == 0
    assert get(engine, Mailbox, boxes[0]).expiry == date(2027, 1, 10)


def test_a_repeated_column_or_an_overlong_field_is_refused(engine, three_orders):
    with pytest.raises(StatementRejected, match="riga 1: .*Importo"):
        read_statement("Data;Importo;Importo;Causale\n05/12/2026;1,00;2,00;x\n")
    with pytest.raises(StatementRejected, match="riga 2"):
        read_statement("Data;Importo;Causale\n05/12/2026;1,00;" + "x" * 200_000 + "\n")


def test_an_error_half_way_registers_nothing(engine, three_orders, monkeypatch):
    boxes, first, second, _third, _cancelled = three_orders
    from pec_tui.services import statement

    real_settle = statement.settle
    calls = []

    def settle_then_fail(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the disk is full")
        return real_settle(*args, **kwargs)

    monkeypatch.setattr(statement, "settle", settle_then_fail)
    text = _statement(
        [f"05/12/2026;05/12/2026;12,08;ORDINE {first}", f"05/12/2026;05/12/2026;30,50;{second}"]
    )
    with pytest.raises(RuntimeError):
        import_statement(engine, SYSTEM, text, "x.csv", today=TODAY)
    assert len(calls) == 2 and _payments(engine) == 0
    assert get(engine, Mailbox, boxes[0]).expiry == date(2027, 1, 10)
