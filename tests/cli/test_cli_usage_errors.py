"""A command typed wrong is told in one line in the UI language, naming the help to read."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pec_tui import i18n
from pec_tui.cli import main


@pytest.fixture(autouse=True)
def _language_back():
    yield
    i18n.set_language("it")


def _run(*args: str, lang: str | None = None, tmp_path) -> tuple[int, list[str]]:
    env = {"PEC_TUI_DATABASE_URL": f"sqlite:///{tmp_path / 'pec.db'}", "PEC_TUI_LANG": lang}
    result = CliRunner().invoke(main, list(args), env=env, prog_name="pec-tui")
    return result.exit_code, result.stderr.splitlines()


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ("renew", "--bogus"),
            "Errore: L'opzione '--bogus' non esiste. (vedi pec-tui renew --help)",
        ),
        (
            ("renwe",),
            "Errore: Il comando 'renwe' non esiste. Forse intendevi 'renew'? (vedi pec-tui --help)",
        ),
        (
            ("orders", "show"),
            "Errore: Manca l'argomento 'NUMBER'. (vedi pec-tui orders show --help)",
        ),
        (
            ("orders", "show", "1", "2"),
            "Errore: Argomento in più non previsto (2) (vedi pec-tui orders show --help)",
        ),
    ],
    ids=["unknown option", "unknown command", "missing argument", "extra argument"],
)
def test_a_mistyped_command_is_one_italian_line(args, line, tmp_path):
    code, lines = _run(*args, tmp_path=tmp_path)
    assert code == 2
    assert lines == [line]


def test_a_bad_value_keeps_the_commands_own_explanation(tmp_path):
    code, lines = _run("renew", "--expiring-within", "xx", tmp_path=tmp_path)
    assert code == 2 and len(lines) == 1
    assert lines[0].startswith("Errore: Valore non valido per '--expiring-within': ")
    assert "non è un periodo" in lines[0] and lines[0].endswith("(vedi pec-tui renew --help)")


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_english_when_asked_before_the_mistake(how, tmp_path):
    if how == "flag":
        code, lines = _run("--lang", "en", "renew", "--bogus", tmp_path=tmp_path)
    else:
        code, lines = _run("renew", "--bogus", lang="en", tmp_path=tmp_path)
    assert code == 2
    assert lines == ["Error: No such option '--bogus'. (see pec-tui renew --help)"]


def test_help_is_left_as_it_was(tmp_path):
    result = CliRunner().invoke(main, ["renew", "--help"], prog_name="pec-tui")
    assert result.exit_code == 0
    assert result.output.startswith("Usage: pec-tui renew [OPTIONS]")
    assert "Show this message and exit." in result.output


@pytest.mark.parametrize("args", [(), ("kiosk",)], ids=["pec-tui", "kiosk"])
def test_no_interface_without_a_terminal(args, tmp_path):
    """From a script or a pipe the UI would wait for keys that never come: one line instead."""
    code, lines = _run(*args, tmp_path=tmp_path)
    assert code == 1
    assert lines == [
        "Errore: Nessun terminale in cui mostrare l'interfaccia (l'ingresso o l'uscita sono "
        "rediretti): avvia pec-tui in un terminale, o dagli un comando (pec-tui --help)."
    ]


def test_a_refusal_is_italian_from_the_first_word(tmp_path):
    """click's own "Error:" before a command's refusal is in the UI language too."""
    code, lines = _run("--operator", "nobody", "orders", "list", tmp_path=tmp_path)
    assert code == 77
    assert len(lines) == 1 and lines[0].startswith("Errore: ")
