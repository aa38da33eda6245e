"""An order's snapshot of its holder is `asdict` of the holder's data, plus kind and name."""

from __future__ import annotations

from dataclasses import asdict

from pec_tui.db.models import Holder
from pec_tui.domain.enums import HolderKind
from pec_tui.services.holders import holder_data
from pec_tui.services.order_lines import holder_snapshot


def test_the_snapshot_is_the_holders_data_as_asdict_gives_it():
    holder = Holder(
        id=7,
        version=3,
        kind=HolderKind.PUBLIC_ADMIN.value,
        display_name="Comune di Prova",
        company_name="Comune di Prova",
        codice_fiscale="80012345678",
        reference_email="protocollo@comune.example.it",
        pa_office_code="UF1234",
        cig="1234567890",
        split_payment=True,
    )
    expected = asdict(holder_data(holder))
    expected.update(kind=holder.kind, display_name=holder.display_name)
    snapshot = holder_snapshot(holder)
    assert snapshot == expected
    assert list(snapshot) == list(expected)
