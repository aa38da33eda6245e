"""An error no screen handles ends the terminal UI with one line and a log, not a traceback."""

from __future__ import annotations

import pytest

from pec_tui.app import PecApp
from pec_tui.config import Settings
from pec_tui.services import faults
from pec_tui.services.database import open_database


class Broken(RuntimeError):
    pass


async def test_a_failing_worker_ends_the_app_with_the_log_path(sqlite_url, monkeypatch, capsys):
    def broken(*_args, **_kwargs):
        raise Broken("the orders query broke")

    monkeypatch.setattr("pec_tui.screens.orders.iter_orders", broken)
    engine = open_database(sqlite_url)
    app = PecApp(Settings(database_url=sqlite_url), engine)
    with pytest.raises(Broken):  # the pilot re-raises it, after the app has handled it
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("f6")
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
    assert app.return_code == faults.EXIT_UNEXPECTED
    err = capsys.readouterr().err
    lines = [text for text in err.splitlines() if text.strip()]
    assert len(lines) == 1, err
    line = lines[0]
    assert "Traceback" not in line and "Broken" in line and str(faults.error_log()) in line
    logged = faults.error_log().read_text()
    assert "Traceback" in logged and "the orders query broke" in logged


def test_a_known_fault_is_explained_not_logged():
    from sqlalchemy.exc import OperationalError

    error = OperationalError("SELECT 1", {}, Exception("server closed the connection"))
    assert "server closed the connection" in (faults.explain(error) or "")
    assert not faults.error_log().exists()
