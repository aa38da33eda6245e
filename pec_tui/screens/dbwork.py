"""The one way a screen runs database work, and the one place an error becomes a sentence.

Screens await `run_db` from an async worker (`@work(exclusive=True)` or `run_worker`): the call
runs in a thread, a refusal of the rules is told to the user with its own text, anything else
is logged and told in one line. By default the message is a `MessageModal` the user closes;
`report` puts it somewhere else instead (an error line of a form, a status bar).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from textual.dom import DOMNode

from pec_tui.dialogs.message import MessageModal
from pec_tui.domain.draft import RenewalRefused
from pec_tui.domain.validation import ValidationError
from pec_tui.i18n import _
from pec_tui.services.actor import AccessDenied
from pec_tui.services.kiosk import IdentificationRefused
from pec_tui.services.payments import PaymentRefused

log = logging.getLogger(__name__)

T = TypeVar("T")

# Refusals carry a `message` for the user, in the UI language.
REFUSALS: tuple[type[Exception], ...] = (
    RenewalRefused,
    PaymentRefused,
    ValidationError,
    IdentificationRefused,
)


def is_refusal(exc: BaseException) -> bool:
    """A rule said no (as opposed to the database, or a bug)."""
    return isinstance(exc, (*REFUSALS, AccessDenied, LookupError))


def error_message(exc: BaseException) -> str:
    """What the user reads about `exc`."""
    if isinstance(exc, REFUSALS):
        return str(getattr(exc, "message", exc))
    if isinstance(exc, (AccessDenied, LookupError)):
        return str(exc)
    return _("The database did not answer as expected: {error}").format(
        error=f"{type(exc).__name__}: {exc}"
    )


async def run_db(
    node: DOMNode,
    title: str,
    fn: Callable[..., T],
    *args: Any,
    report: Callable[[str], object] | None = None,
    **kwargs: Any,
) -> T | None:
    """`fn(*args, **kwargs)` in a thread; None (after telling the user) when it failed."""
    return await await_db(node, title, asyncio.to_thread(fn, *args, **kwargs), report=report)


async def await_db(
    node: DOMNode,
    title: str,
    work: Awaitable[T],
    report: Callable[[str], object] | None = None,
) -> T | None:
    """As `run_db`, for database work begun earlier (a thread already running)."""
    try:
        return await work
    except Exception as exc:  # never a traceback on the terminal
        if not is_refusal(exc):
            log.exception("%s", title)
        message = error_message(exc)
        if report is not None:
            report(message)
        else:
            await node.app.push_screen_wait(MessageModal(title, message))
        return None
