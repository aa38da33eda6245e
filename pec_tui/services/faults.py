"""Faults in one line for people, tracebacks in a log file for whoever fixes them.

`DatabaseProblem` and its kinds are the faults people can act on (the database cannot be
reached, is not a pec-tui database, has a schema older or newer than this version): their
message says what to do. `explain` turns the other known faults (the database dropping the
connection, staying busy) into such a line. Anything else is a defect: `record_unexpected`
appends its traceback to `error_log()` and `unexpected_message` names that file.
"""

from __future__ import annotations

import datetime as _dt
import os
import sys
import tempfile
import traceback
from pathlib import Path

from sqlalchemy.exc import DBAPIError, OperationalError

from pec_tui.config import data_dir
from pec_tui.i18n import _

# sysexits EX_SOFTWARE: an internal error (a defect), not a refusal nor a usage error.
EXIT_UNEXPECTED = 70
ERROR_LOG_NAME = "pec-tui-errors.log"


class DatabaseProblem(Exception):
    """The database cannot be used as it is; `message` says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class DatabaseUnavailable(DatabaseProblem):
    """The database cannot be reached or opened."""


class NotOurDatabase(DatabaseProblem):
    """A file that is not a SQLite database, a damaged one, or another program's database."""


class SchemaOutdated(DatabaseProblem):
    """The schema is older than this version and is not upgraded automatically (PostgreSQL)."""


class SchemaTooNew(DatabaseProblem):
    """The schema was made by a newer version of pec-tui."""


def driver_detail(exc: BaseException) -> str:
    """The first line of what the database driver said, without SQLAlchemy's decorations."""
    original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(original).strip().splitlines()
    return (lines[0] if lines else type(original).__name__)[:300]


def is_busy(exc: BaseException) -> bool:
    text = driver_detail(exc).lower()
    return "database is locked" in text or "database is busy" in text


def explain(exc: BaseException) -> str | None:
    """One line for a fault people can act on, or None for a defect."""
    if isinstance(exc, DatabaseProblem):
        return exc.message
    if isinstance(exc, OSError) and exc.filename is not None:
        return _("Cannot use the file {file}: {reason}.").format(
            file=exc.filename, reason=exc.strerror or type(exc).__name__
        )
    if isinstance(exc, OperationalError):
        if is_busy(exc):
            return _(
                "The database stayed busy (other programs are writing to it): nothing was "
                "changed; try again in a moment."
            )
        return _(
            "The database stopped answering ({detail}): nothing more was changed; check "
            "that it is reachable and try again."
        ).format(detail=driver_detail(exc))
    return None


def error_log() -> Path:
    """Where the tracebacks of unexpected errors go: <data dir>/logs/pec-tui-errors.log."""
    return data_dir() / "logs" / ERROR_LOG_NAME


def record_unexpected(exc: BaseException, context: str = "") -> Path:
    """Append `exc`'s traceback to the error log; the file written (a temporary one when
    the data directory cannot be written)."""
    stamp = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    entry = (
        f"--- {stamp} pid {os.getpid()} {context or ' '.join(sys.argv)}\n"
        + "".join(traceback.format_exception(exc))
        + "\n"
    )
    for path in (error_log(), Path(tempfile.gettempdir()) / ERROR_LOG_NAME):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as log:
                log.write(entry)
            return path
        except OSError:
            continue
    return error_log()  # nowhere to write: name the intended place all the same


def unexpected_message(exc: BaseException, log: Path) -> str:
    return _(
        "Unexpected error ({error}): nothing more was done. The details are in {log}; "
        "please send that file to support."
    ).format(error=type(exc).__name__, log=log)
