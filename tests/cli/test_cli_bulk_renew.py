"""`pec-tui renew` across resellers: one order per reseller, printed one by one."""

from __future__ import annotations

import json
from datetime import date, timedelta

from book_builder import add_holder, add_mailbox, add_reseller
from click.testing import CliRunner

from pec_tui.cli import main

TODAY = date.today()
CONSENTS = ["--accept-terms", "--accept-clauses", "--accept-privacy"]


def test_renew_across_resellers_makes_one_order_each(engine, db_url):
    nord = add_reseller(engine, "Nord Srl")
    sud = add_reseller(engine, "Sud Srl")
    expiry = TODAY + timedelta(days=20)
    anna = add_holder(engine, ("Anna", "Bianchi"), "anna@example.it", reseller_id=nord)
    sara = add_holder(engine, ("Sara", "Neri"), "sara@example.it", reseller_id=sud)
    add_mailbox(engine, anna, "anna@pec.it", expiry, reseller_id=nord)
    add_mailbox(engine, sara, "sara@pec.it", expiry, reseller_id=sud)
    runner = CliRunner()
    args = ["--database-url", db_url, "renew", "anna@pec.it", "sara@pec.it", "--years", "1"]
    args += ["--payment-method", "bonifico", *CONSENTS]

    result = runner.invoke(main, [*args[:2], *args[2:], "--format", "json"])
    assert result.exit_code == 0, result.output
    placed = json.loads(result.output)
    assert [p["mailboxes"] for p in placed] == [["anna@pec.it"], ["sara@pec.it"]]
    assert len({p["number"] for p in placed}) == 2
