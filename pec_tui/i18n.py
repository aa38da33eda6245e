"""Translations (gettext catalogs compiled by Babel) and Italian-style money and dates."""

from __future__ import annotations

import functools
import gettext as _gettext
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from babel.dates import format_date as _babel_format_date
from babel.dates import format_datetime as _babel_format_datetime
from babel.numbers import format_currency, format_decimal

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "pec_tui"
LANGUAGES = ("it", "en")
_BABEL_LOCALES = {"it": "it_IT", "en": "en_GB"}

_language = "it"
_translations: _gettext.NullTranslations = _gettext.NullTranslations()
# A language spoken for a while by one thread (`speaking`), whatever the UI's.
_local = threading.local()


def N_(message: str) -> str:
    """Mark a string for extraction without translating it yet."""
    return message


def set_language(language: str) -> None:
    """Switch every later `_()` call to `language` ('it' or 'en')."""
    global _language, _translations
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; choose one of {', '.join(LANGUAGES)}")
    _language = language
    _translations = _catalog(language)


@functools.cache
def _catalog(language: str) -> _gettext.NullTranslations:
    return _gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[language], fallback=True)


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Within the block this thread speaks `language`: words, money and dates (an e-mail to a
    holder is written in the holder's language, whatever the operator's UI speaks)."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; choose one of {', '.join(LANGUAGES)}")
    before = getattr(_local, "spoken", None)
    _local.spoken = (language, _catalog(language))
    try:
        yield
    finally:
        _local.spoken = before


def _active() -> tuple[str, _gettext.NullTranslations]:
    spoken: tuple[str, _gettext.NullTranslations] | None = getattr(_local, "spoken", None)
    return spoken if spoken is not None else (_language, _translations)


def get_language() -> str:
    return _active()[0]


def babel_locale() -> str:
    return _BABEL_LOCALES[get_language()]


def _(message: str) -> str:
    return _active()[1].gettext(message)


def pgettext(context: str, message: str) -> str:
    """Translate a word whose meaning depends on `context` ("Cancelled": a mailbox, an order)."""
    return _active()[1].pgettext(context, message)


def NC_(context: str, message: str) -> tuple[str, str]:  # noqa: N802 (gettext naming)
    """Mark a word with its context for extraction; translate it later with `pgettext`."""
    return (context, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _active()[1].ngettext(singular, plural, n)


def format_money(amount: Decimal) -> str:
    """`1.234,56 €` in Italian, `€1,234.56` in English."""
    return _money(amount, babel_locale())


@functools.lru_cache(maxsize=4096)
def _money(amount: Decimal, locale: str) -> str:
    # Babel takes tens of microseconds an amount; a batch job prints the same few prices in
    # thousands of e-mails.
    return format_currency(amount, "EUR", locale=locale)


def format_number(amount: Decimal | int) -> str:
    return format_decimal(amount, locale=babel_locale())


def format_date(value: date) -> str:
    """`25/09/2019`."""
    return _date(value, babel_locale())


@functools.lru_cache(maxsize=4096)
def _date(value: date, locale: str) -> str:
    # Babel takes ~17 µs a date; a payment of 58,000 mailboxes lists 116,000 of them, a few
    # hundred different ones.
    return _babel_format_date(value, "dd/MM/yyyy", locale=locale)


def format_month(value: date) -> str:
    """`dic 2026`: a calendar month, short."""
    return _babel_format_date(value, "MMM yyyy", locale=babel_locale())


def format_datetime(value: datetime) -> str:
    return _babel_format_datetime(value, "dd/MM/yyyy HH:mm", locale=babel_locale())


set_language("it")
