"""`pec-tui demo`: seeding from the command line, harmless twice, --reset, Ctrl-C."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlmodel import Session

from pec_tui.cli import main
from pec_tui.db.models import AuditEvent, Holder, Mailbox


@pytest.fixture
def demo(db_url):
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None, input: str | None = None):
        return runner.invoke(
            main,
            ["--database-url", db_url, "--lang", "en", "demo", *args],
            catch_exceptions=False,
            env=env,
            input=input,
        )

    return invoke


def _mailboxes(engine) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(Mailbox)).scalar_one()


def test_demo_seeds_then_leaves_a_seeded_database_alone(demo, engine):
    first = demo("--mailboxes", "300", "--today", "2026-11-26", "--no-ui")
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("Seeded 300 mailboxes of ")
    assert _mailboxes(engine) == 300

    second = demo("--mailboxes", "500", "--no-ui")
    assert second.exit_code == 0, second.output
    assert "already has 300 mailboxes: nothing seeded" in second.stdout
    assert _mailboxes(engine) == 300


def test_reset_starts_over_and_both_steps_are_audited(demo, engine):
    assert demo("--mailboxes", "300", "--no-ui").exit_code == 0
    # The first run created the demo operators: starting over takes an administrator.
    refused = demo("--mailboxes", "200", "--reset", "--yes", "--no-ui")
    assert refused.exit_code == 77 and _mailboxes(engine) == 300
    result = demo(
        "--mailboxes",
        "200",
        "--seed",
        "3",
        "--reset",
        "--no-ui",
        env=_system(engine),
        input="y\n",
    )
    assert result.exit_code == 0, result.output
    assert "Previous data deleted." in result.stderr
    assert _mailboxes(engine) == 200
    with Session(engine) as session:
        actions = list(session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars())
    assert [a for a in actions if a.startswith("demo.")] == ["demo.reset", "demo.seed"]


def _system(engine) -> dict[str, str]:
    """The environment of a scheduled job: the system token an administrator issued."""
    from pec_tui.services.actor import SYSTEM
    from pec_tui.services.auth import issue_system_token

    return {"PEC_TUI_TOKEN": issue_system_token(engine, SYSTEM)}


def _audit_actions(engine) -> list[str]:
    with Session(engine) as session:
        return list(session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars())


def test_reset_asks_first_and_an_answer_other_than_yes_deletes_nothing(demo, engine):
    assert demo("--mailboxes", "100", "--no-ui").exit_code == 0
    for answer in ("n\n", "\n"):
        kept = demo("--mailboxes", "50", "--reset", "--no-ui", env=_system(engine), input=answer)
        assert kept.exit_code == 1, kept.output
        assert "Delete all data of this demo database" in kept.stderr
        assert "Not confirmed: nothing deleted (--yes confirms --reset)." in kept.stderr
        assert _mailboxes(engine) == 100
    result = demo("--mailboxes", "50", "--reset", "--no-ui", env=_system(engine), input="y\n")
    assert result.exit_code == 0, result.output
    assert _mailboxes(engine) == 50


def test_reset_with_stdin_closed_and_no_yes_deletes_nothing(demo, engine):
    assert demo("--mailboxes", "100", "--no-ui").exit_code == 0
    system = _system(engine)
    actions = _audit_actions(engine)
    refused = demo("--reset", "--no-ui", env=system)  # no input at all: end of file
    assert refused.exit_code == 1
    assert "Not confirmed: nothing deleted" in refused.stderr
    assert _mailboxes(engine) == 100 and _audit_actions(engine) == actions


def test_reset_yes_needs_no_terminal(demo, engine):
    assert demo("--mailboxes", "100", "--no-ui").exit_code == 0
    result = demo("--mailboxes", "60", "--reset", "--yes", "--no-ui", env=_system(engine))
    assert result.exit_code == 0, result.output
    assert "Delete all data" not in result.output
    assert _mailboxes(engine) == 60


def test_reset_refuses_a_database_demo_did_not_fill(demo, engine):
    with Session(engine) as session:
        holder = Holder(kind="privato", display_name="Vera", reference_email="v@example.it")
        session.add(holder)
        session.flush()
        session.add(Mailbox(address="vera@pec.example.it", holder_id=holder.id, plan="STANDARD",
                            expiry=date(2030, 1, 1)))  # fmt: skip
        session.commit()
    # No operator yet: the command acts as the system without any token.
    refused = demo("--reset", "--yes", "--no-ui", input="y\n")
    assert refused.exit_code == 1
    assert refused.stderr.strip().splitlines() == [
        "Error: This database was not filled by pec-tui demo: nothing deleted."
    ]
    assert _mailboxes(engine) == 1 and _audit_actions(engine) == []


def test_reset_refuses_a_demo_database_with_an_operator_added_by_hand(demo, engine, db_url):
    assert demo("--mailboxes", "100", "--no-ui").exit_code == 0
    runner = CliRunner()
    added = runner.invoke(
        main,
        [
            "--database-url",
            db_url,
            "operators",
            "add",
            "mario",
            "--role",
            "admin",
            "--password-stdin",
        ],  # fmt: skip
        env=(system := _system(engine)),
        input="mario-password-1\n",
        catch_exceptions=False,
    )
    assert added.exit_code == 0, added.output
    actions = _audit_actions(engine)
    refused = demo("--reset", "--yes", "--no-ui", env=system)
    assert refused.exit_code == 1
    assert "mailboxes or operators not made by pec-tui demo: nothing deleted." in refused.stderr
    assert _mailboxes(engine) == 100 and _audit_actions(engine) == actions


def test_the_data_is_built_around_the_given_day(demo, engine):
    assert demo("--mailboxes", "200", "--today", "2031-05-01", "--no-ui").exit_code == 0
    with Session(engine) as session:
        earliest, latest = session.execute(
            select(func.min(Mailbox.expiry), func.max(Mailbox.expiry))
        ).one()
    assert date(2030, 10, 1) < earliest < date(2031, 5, 1) < latest < date(2034, 5, 2)


def test_the_terminal_ui_opens_afterwards_unless_told_not_to(demo, monkeypatch):
    monkeypatch.setattr("pec_tui.cli.cmd_demo.has_terminal", lambda: True)
    opened = []
    monkeypatch.setattr(
        "pec_tui.app.run_app", lambda settings, engine, signed_in=None: opened.append(signed_in)
    )
    assert demo("--mailboxes", "50").exit_code == 0
    assert demo("--mailboxes", "50").exit_code == 0  # nothing to seed: straight to the UI
    assert demo("--mailboxes", "50", "--no-ui").exit_code == 0
    # Whoever just read the passwords starts signed in as the demo administrator; the next
    # run signs in as usual (its sign-in screen names the demo operators).
    assert len(opened) == 2
    assert opened[0] is not None and opened[0].name == "admin" and opened[0].is_admin
    assert opened[1] is None


def test_without_a_terminal_the_data_is_seeded_and_the_ui_not_opened(demo, monkeypatch):
    """Run from a script or a pipe (as CliRunner runs it): no UI waiting for keys that never
    come, one line saying why, and the passwords printed."""
    opened = []
    monkeypatch.setattr("pec_tui.app.run_app", lambda *args, **kwargs: opened.append(args))
    result = demo("--mailboxes", "50")
    assert result.exit_code == 0, result.output
    assert opened == []
    assert "admin" in result.output
    assert result.output.strip().splitlines()[-1] == (
        "No terminal here: the interface was not opened (the data is ready: run pec-tui in a "
        "terminal to sign in)."
    )


def test_a_number_of_mailboxes_below_one_is_a_usage_error(demo):
    result = demo("--mailboxes", "0", "--no-ui")
    assert result.exit_code == 2
    assert "--mailboxes" in result.stderr


def test_ctrl_c_stops_after_the_current_chunk_with_status_130(tmp_path):
    path = tmp_path / "demo.db"
    command = [sys.executable, "-c", "from pec_tui.cli import main; main()"]
    options = ["--database-url", f"sqlite:///{path}", "--lang", "en"]
    seeding = subprocess.Popen(
        [*command, *options, "demo", "--mailboxes", "400000", "--no-ui"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while _committed(path) == 0:
            assert seeding.poll() is None, seeding.communicate()
            assert time.monotonic() < deadline, "no chunk committed in two minutes"
            time.sleep(0.2)
        seeding.send_signal(signal.SIGINT)
        _out, err = seeding.communicate(timeout=120)
    finally:
        if seeding.poll() is None:
            seeding.kill()
    assert seeding.returncode == 130, err
    written = _committed(path)
    assert 0 < written < 400_000
    assert f"Interrupted: the database now has {written} mailboxes" in err
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        orphans = connection.execute(
            "SELECT COUNT(*) FROM holder WHERE id NOT IN (SELECT holder_id FROM mailbox)"
        ).fetchone()
        assert orphans == (0,)


def _committed(path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as connection:
            return connection.execute("SELECT COUNT(*) FROM mailbox").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_holders_come_with_their_mailboxes(demo, engine):
    assert demo("--mailboxes", "120", "--no-ui").exit_code == 0
    with Session(engine) as session:
        holders = session.execute(select(func.count()).select_from(Holder)).scalar_one()
    assert 0 < holders < 120


def test_demo_creates_operators_once_and_they_can_sign_in(tmp_path):
    from pec_tui.services.auth import authenticate
    from pec_tui.services.database import open_database

    url = f"sqlite:///{tmp_path / 'ops.db'}"
    runner = CliRunner()
    first = runner.invoke(
        main,
        ["--database-url", url, "demo", "--mailboxes", "50", "--no-ui"],
        catch_exceptions=False,
    )
    assert first.exit_code == 0, first.output
    lines = [line.split() for line in first.output.splitlines() if line.startswith("  ")]
    credentials = {parts[0]: parts[1] for parts in lines}
    assert {"admin", "backoffice", "rivenditore1", "rivenditore2"} <= set(credentials)
    engine = open_database(url)
    actor = authenticate(engine, "rivenditore1", credentials["rivenditore1"], "test")
    assert actor.reseller_id is not None
    again = runner.invoke(main, ["--database-url", url, "demo", "--no-ui"], catch_exceptions=False)
    assert again.exit_code == 0, again.output
    assert "admin" not in again.output


def _printed_credentials(output: str) -> dict[str, str]:
    lines = [line.split() for line in output.splitlines() if line.startswith("  ")]
    return {parts[0]: parts[1] for parts in lines}


def test_demo_accounts_prints_new_passwords_and_the_old_ones_stop_working(tmp_path):
    from pec_tui.services.auth import LoginRefused, authenticate
    from pec_tui.services.database import open_database

    url = f"sqlite:///{tmp_path / 'again.db'}"
    runner = CliRunner()
    args = ["--database-url", url, "--lang", "en", "demo", "--mailboxes", "50", "--no-ui"]
    first = _printed_credentials(runner.invoke(main, args, catch_exceptions=False).output)
    # No sign-in asked: the passwords printed at the first run are the ones that got lost.
    again = runner.invoke(main, [*args, "--accounts"], catch_exceptions=False)
    assert again.exit_code == 0, again.output
    assert "demo --accounts" in again.output
    second = _printed_credentials(again.output)
    assert set(second) == set(first) == {"admin", "backoffice", "rivenditore1", "rivenditore2"}
    engine = open_database(url)
    for username, password in second.items():
        assert password != first[username]
        assert authenticate(engine, username, password, "test").name == username
        with pytest.raises(LoginRefused):
            authenticate(engine, username, first[username], "test")


def test_demo_accounts_refuses_a_database_with_other_operators(tmp_path, demo, engine, db_url):
    assert demo("--mailboxes", "50", "--no-ui").exit_code == 0
    runner = CliRunner()
    added = runner.invoke(
        main,
        ["--database-url", db_url, "operators", "add", "mario", "--role", "admin",
         "--password-stdin"],
        env=_system(engine),
        input="mario-password-1\n",
        catch_exceptions=False,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    refused = demo("--accounts", "--no-ui")
    assert refused.exit_code == 1
    assert "not made by pec-tui demo" in refused.stderr
    assert "admin " not in refused.stdout
