"""The command line's sign-in rule, `operators ...` and `audit export`, run in-process."""

from __future__ import annotations

import csv
import getpass
import io
import json
import socket
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from sqlmodel import Session, select

from pec_tui.cli import EXIT_REFUSED, main
from pec_tui.db.engine import make_engine
from pec_tui.db.models import AuditEvent, Operator, Reseller
from pec_tui.services import auth


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch):
    monkeypatch.setattr(
        auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


class Cli:
    def __init__(self, url: str) -> None:
        self.url = url
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, **env: str):
        env = {"PEC_TUI_TERMINAL": "cli-test", **env}
        return self.runner.invoke(
            main, ["--database-url", self.url, *args], input=input, env=env, catch_exceptions=False
        )

    def as_boss(self, *args: str, input: str | None = None):
        return self("--operator", "boss", *args, input=input, PEC_TUI_PASSWORD="boss-password")

    def events(self, **where) -> list[AuditEvent]:
        engine = make_engine(self.url)
        try:
            with Session(engine) as session:
                stmt = select(AuditEvent).order_by(AuditEvent.id)
                for name, value in where.items():
                    stmt = stmt.where(getattr(AuditEvent, name) == value)
                return list(session.exec(stmt).all())
        finally:
            engine.dispose()


@pytest.fixture
def cli(sqlite_url) -> Cli:
    return Cli(sqlite_url)


@pytest.fixture
def staffed(cli) -> Cli:
    """A database with the administrator boss, back-office mario and reseller operator nord1."""
    assert cli("operators", "add", "boss", "--role", "admin", "--password-stdin",
               input="boss-password\n").exit_code == 0  # fmt: skip
    engine = make_engine(cli.url)
    with Session(engine) as session:
        session.add(Reseller(name="Rivendita Nord"))
        session.commit()
    engine.dispose()
    result = cli.as_boss(
        "operators", "add", "mario", "--role", "backoffice", "--full-name", "Mario Rossi",
        "--password-stdin", input="mario-password\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    result = cli.as_boss(
        "operators", "add", "nord1", "--role", "rivenditore", "--reseller-id", "1",
        "--password-stdin", input="nord-password\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return cli


def test_help_states_the_sign_in_rule(cli):
    result = cli("--help")
    assert result.exit_code == 0
    for text in ("--operator", "PEC_TUI_PASSWORD", "--token-stdin", "PEC_TUI_TOKEN", "77"):
        assert text in result.output


def test_an_empty_database_acts_as_the_system_to_create_the_first_admin(cli):
    result = cli("operators", "add", "boss", "--role", "admin", "--password-stdin",
                 input="boss-password\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "boss created" in result.output
    created = cli.events(action="operator.create")[0]
    assert created.actor == "system"
    assert created.terminal == f"{getpass.getuser()}@{socket.gethostname()} (cli-test)"


def test_without_credentials_a_staffed_database_refuses(staffed):
    result = staffed("operators", "list")
    assert result.exit_code == EXIT_REFUSED
    assert "--operator" in result.output


def test_the_system_identity_needs_the_system_token(staffed):
    refused = staffed("operators", "add", "hacker", "--role", "admin", "--password-stdin",
                      input="hacker-password\n", PEC_TUI_SYSTEM="1")  # fmt: skip
    assert refused.exit_code == EXIT_REFUSED and "system-token" in refused.output
    assert "hacker" not in staffed.as_boss("operators", "list").output
    denied = staffed.events(outcome="denied", actor="system")
    assert [e.action for e in denied] == ["login"]
    assert staffed("operators", "system-token").exit_code == EXIT_REFUSED  # not without a sign-in

    issued = staffed.as_boss("operators", "system-token", "--expires", "30")
    assert issued.exit_code == 0 and "30" in issued.stderr
    token = issued.stdout.strip()
    result = staffed("lifecycle", "run", "--dry-run", PEC_TUI_TOKEN=token)
    assert result.exit_code == 0, result.output
    result = staffed("--token-stdin", "lifecycle", "run", "--dry-run", input=token + "\n")
    assert result.exit_code == 0, result.output
    assert staffed.events(action="login", actor="system", outcome="ok")
    # Nobody signs in as "system" with a password, nor creates another one.
    assert staffed("--operator", "system", "operators", "list",
                   PEC_TUI_PASSWORD="whatever-1").exit_code == EXIT_REFUSED  # fmt: skip
    taken = staffed.as_boss("operators", "add", "system", "--role", "admin", "--password-stdin",
                            input="system-password\n")  # fmt: skip
    assert taken.exit_code == 1


def test_operator_and_password_from_the_environment(staffed):
    result = staffed.as_boss("operators", "list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split()[:2] == ["username", "role"]
    assert [line.split()[0] for line in lines[1:]] == ["boss", "mario", "nord1"]
    assert "1 Rivendita Nord" in result.output
    login = staffed.events(action="login", actor="boss")[-1]
    assert login.outcome == "ok" and login.terminal.endswith(" (cli-test)")
    assert login.terminal.startswith(f"{getpass.getuser()}@")


def test_wrong_password_is_refused_and_audited(staffed):
    result = staffed("--operator", "boss", "operators", "list", PEC_TUI_PASSWORD="nope-nope")
    assert result.exit_code == EXIT_REFUSED
    assert "Wrong username or password" in result.output
    assert staffed.events(action="login", actor="boss")[-1].outcome == "failed"


def test_no_password_and_no_terminal_is_refused(staffed):
    result = staffed("--operator", "boss", "operators", "list")
    assert result.exit_code == EXIT_REFUSED
    assert "PEC_TUI_PASSWORD" in result.output


def test_lockout_through_the_cli(staffed):
    for _ in range(5):
        staffed("--operator", "mario", "operators", "passwd", "mario", "--password-stdin",
                input="whatever-1\n", PEC_TUI_PASSWORD="bad-password")  # fmt: skip
    result = staffed("--operator", "mario", "operators", "passwd", "mario", "--password-stdin",
                     input="whatever-1\n", PEC_TUI_PASSWORD="mario-password")  # fmt: skip
    assert result.exit_code == EXIT_REFUSED
    assert "locked" in result.output and "15 minutes" in result.output
    # The administrator's reset lifts the lock.
    result = staffed.as_boss("operators", "passwd", "mario", "--password-stdin",
                             input="mario-password-2\n")  # fmt: skip
    assert result.exit_code == 0
    result = staffed("--operator", "mario", "operators", "passwd", "mario", "--password-stdin",
                     input="mario-password-3\n", PEC_TUI_PASSWORD="mario-password-2")  # fmt: skip
    assert result.exit_code == 0, result.output


def test_tokens_for_scripts(staffed):
    result = staffed.as_boss("operators", "token", "mario")
    assert result.exit_code == 0
    token = result.stdout.strip()
    assert token.startswith("pec_")
    assert staffed("operators", "list", PEC_TUI_TOKEN=token).exit_code == EXIT_REFUSED  # role
    result = staffed("--operator", "boss", "operators", "list", PEC_TUI_TOKEN=token)
    assert result.exit_code == EXIT_REFUSED and "another operator" in result.output
    assert staffed.as_boss("operators", "token", "mario", "--revoke").exit_code == 0
    result = staffed("operators", "list", PEC_TUI_TOKEN=token)
    assert result.exit_code == EXIT_REFUSED and "token" in result.output
    assert staffed("--token", token, "operators", "list").exit_code == 2  # never in argv
    with Session(make_engine(staffed.url)) as session:
        stored = session.exec(select(Operator.token_hash).where(Operator.username == "mario"))
        assert stored.one() is None


def test_a_token_dies_with_a_new_password_with_disable_and_when_it_expires(staffed):
    def token_of(name: str) -> str:
        return staffed.as_boss("operators", "token", name).stdout.strip()

    def works(token: str) -> bool:
        return staffed("--token-stdin", "orders", "list", input=token + "\n").exit_code == 0

    token = token_of("mario")
    assert works(token)
    result = staffed("--token-stdin", "operators", "passwd", "mario", "--password-stdin",
                     input=f"{token}\nmario-password-2\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert not works(token)  # the new password ended it

    token = token_of("mario")
    assert staffed.as_boss("operators", "disable", "mario").exit_code == 0
    assert staffed.as_boss("operators", "enable", "mario").exit_code == 0
    assert not works(token)  # enabling again does not bring it back

    token = token_of("mario")
    engine = make_engine(staffed.url)
    with Session(engine) as session:
        mario = session.exec(select(Operator).where(Operator.username == "mario")).one()
        expires = mario.token_expires_at
        mario.token_expires_at = datetime.now(UTC) - timedelta(seconds=1)
        session.add(mario)
        session.commit()
    engine.dispose()
    assert timedelta(days=89) < expires - datetime.now(UTC) <= timedelta(days=90)
    result = staffed("orders", "list", PEC_TUI_TOKEN=token)
    assert result.exit_code == EXIT_REFUSED and "expired" in result.output
    assert staffed.events(action="login", actor="mario")[-1].details["reason"] == "expired"


def test_disable_and_enable(staffed):
    result = staffed.as_boss("operators", "disable", "mario")
    assert result.exit_code == 0 and "mario disabled" in result.output
    assert "disabled" in staffed.as_boss("operators", "list").output
    result = staffed("--operator", "mario", "operators", "list", PEC_TUI_PASSWORD="mario-password")
    assert result.exit_code == EXIT_REFUSED and "disabled" in result.output
    assert staffed.as_boss("operators", "enable", "mario").exit_code == 0
    result = staffed.as_boss("operators", "disable", "boss")
    assert result.exit_code == EXIT_REFUSED  # oneself, and the last administrator


def test_input_errors_are_one_line_messages(staffed):
    result = staffed.as_boss("operators", "add", "x y", "--role", "admin", "--password-stdin",
                             input="some-password\n")  # fmt: skip
    assert result.exit_code == 1 and "username" in result.output.lower()
    result = staffed.as_boss("operators", "add", "r2", "--role", "rivenditore", "--password-stdin",
                             input="some-password\n")  # fmt: skip
    assert result.exit_code == 1 and "reseller" in result.output
    result = staffed.as_boss("operators", "disable", "nobody")
    assert result.exit_code == 1 and "no operator nobody" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("operators", "list"),
        ("operators", "add", "x1", "--role", "admin", "--password-stdin"),
        ("operators", "disable", "boss"),
        ("operators", "enable", "mario"),
        ("operators", "passwd", "boss", "--password-stdin"),
        ("operators", "token", "boss"),
        ("audit", "export"),
    ],
)
def test_a_reseller_operator_is_refused_and_audited(staffed, args):
    before = len(staffed.events(outcome="denied"))
    result = staffed("--operator", "nord1", *args, input="some-password\n",
                     PEC_TUI_PASSWORD="nord-password")  # fmt: skip
    assert result.exit_code == EXIT_REFUSED, result.output
    assert result.output.startswith("Error: refused:")
    denied = staffed.events(outcome="denied")
    assert len(denied) == before + 1
    assert (denied[-1].actor, denied[-1].terminal, denied[-1].reseller_id) == (
        "nord1",
        f"{getpass.getuser()}@{socket.gethostname()} (cli-test)",
        1,
    )


def test_audit_export_csv_and_json_with_filters(staffed):
    result = staffed.as_boss("audit", "export", "--action", "operator", "--since", "2000-01-01")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["action"], json.loads(r["details"])["username"]) for r in rows] == [
        ("operator.create", "boss"),
        ("operator.create", "mario"),
        ("operator.create", "nord1"),
    ]
    assert "3 events exported" in result.stderr
    result = staffed.as_boss("audit", "export", "--format", "json", "--actor", "boss",
                             "--action", "login", "--outcome", "ok")  # fmt: skip
    data = json.loads(result.stdout)
    assert data and all(d["actor"] == "boss" and d["action"] == "login" for d in data)
    result = staffed.as_boss("audit", "export", "--until", "2000-01-01", "--format", "json")
    assert json.loads(result.stdout) == []
    result = staffed.as_boss("audit", "export", "--since", "yesterday")
    assert result.exit_code == 2


# --- tenancy through the command line ----------------------------------------------------


@pytest.fixture
def two_resellers(staffed):
    """Besides Nord (reseller 1, operator nord1): Sud, with a mailbox and an unpaid order."""
    from datetime import date, timedelta

    from book_builder import add_holder, add_mailbox, add_reseller, confirm_renewal

    engine = make_engine(staffed.url)
    today = date.today()
    nord_holder = add_holder(engine, reseller_id=1)
    add_mailbox(engine, nord_holder, "mario.rossi@pec.it", today + timedelta(days=40),
                reseller_id=1)  # fmt: skip
    sud = add_reseller(engine, "Rivendita Sud", credit_cents=50_000)
    sud_holder = add_holder(engine, ("Luigi", "Bianchi"), "luigi@example.it", reseller_id=sud)
    sud_box = add_mailbox(engine, sud_holder, "luigi.bianchi@pec.it", today + timedelta(days=40),
                          reseller_id=sud)  # fmt: skip
    add_mailbox(engine, sud_holder, "studio.bianchi@pec.it", today + timedelta(days=40),
                reseller_id=sud)  # fmt: skip
    order = confirm_renewal(engine, [sud_box], today)
    engine.dispose()
    return staffed, sud, str(order.number), str(order.quote.gross).replace(".", ",")


def _as_nord(cli, *args):
    return cli("--operator", "nord1", *args, PEC_TUI_PASSWORD="nord-password")


def _cli_attempts(sud: int, number: str, gross: str) -> dict[str, tuple[tuple[str, ...], bool]]:
    """What nord1 tries on Sud's data, and the exit status: another reseller's record looks
    missing (1, as a missing one), an operation the role may not do is refused (77)."""
    return {
        "show order": (("orders", "show", number), 1),
        "cancel order": (("orders", "cancel", number), 1),
        "register payment": (
            ("payments", "register", number, "--amount", gross, "--method", "bonifico"),
            EXIT_REFUSED,
        ),
        "show credit": (("credit", "show", str(sud)), 1),
        "top up credit": (("credit", "topup", "1", "100,00"), EXIT_REFUSED),
        "change a price": (("prices", "set", "STANDARD", "1,00"), EXIT_REFUSED),
        "run the lifecycle job": (("lifecycle", "run"), EXIT_REFUSED),
        "flush the outbox": (("outbox", "flush"), EXIT_REFUSED),
    }


CLI_ATTEMPTS = list(_cli_attempts(0, "", ""))


@pytest.mark.parametrize("attempt", CLI_ATTEMPTS)
def test_a_reseller_operator_cannot_touch_another_resellers_data(two_resellers, attempt):
    cli, sud, number, gross = two_resellers
    args, exit_code = _cli_attempts(sud, number, gross)[attempt]
    before = len(cli.events(outcome="denied", actor="nord1"))
    result = _as_nord(cli, *args)
    assert result.exit_code == exit_code, result.output
    after = len(cli.events(outcome="denied", actor="nord1"))
    assert after == before + 1
    shown = cli.as_boss("orders", "show", number, "--format", "json")
    assert json.loads(shown.stdout)["status"] == "in_attesa"


def test_another_resellers_mailboxes_and_orders_do_not_exist_for_nord(two_resellers):
    cli, _sud, number, _gross = two_resellers
    listed = _as_nord(cli, "orders", "list", "--format", "json")
    assert listed.exit_code == 0 and number not in listed.stdout
    renew = _as_nord(cli, "renew", "studio.bianchi@pec.it", "--years", "1", "--payment-method", "bonifico",
                     "--accept-terms", "--accept-clauses", "--accept-privacy")  # fmt: skip
    assert renew.exit_code == 1 and "No such mailbox" in renew.output
    renew = _as_nord(cli, "renew", "mario.rossi@pec.it", "--years", "1", "--payment-method", "bonifico",
                     "--accept-terms", "--accept-clauses", "--accept-privacy")  # fmt: skip
    assert renew.exit_code == 0, renew.output
