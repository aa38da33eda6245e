"""The gettext catalogs are complete, consistent and compiled.

Every string the code marks with `_()`, `N_()` or `ngettext()` must have an Italian
translation (the default UI language); translations keep the msgid's placeholders and
markup; the `.mo` files are compiled from the current `.po` files; English falls back to
the msgids. When one of these fails: run `scripts/update-catalogs`, translate the new
entries in pec_tui/locale/it/LC_MESSAGES/pec_tui.po, and run the script again.
"""

from __future__ import annotations

import ast
import gettext
import io
import re
import string
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from pec_tui import i18n

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "pec_tui"
LOCALE_DIR = PACKAGE / "locale"
SCRIPT = ROOT / "scripts" / "update-catalogs"
BABEL_CFG = ROOT / "babel.cfg"
FIX = (
    "Run scripts/update-catalogs, translate the entries in "
    "pec_tui/locale/it/LC_MESSAGES/pec_tui.po, then run scripts/update-catalogs again."
)


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"


def mo_path(language: str) -> Path:
    return po_path(language).with_suffix(".mo")


def script_keywords() -> dict:
    """The extraction keywords of scripts/update-catalogs (its `-k` options, plus Babel's
    defaults unless it passes --no-default-keywords), so the test extracts what it does."""
    text = SCRIPT.read_text(encoding="utf-8")
    extra = parse_keywords(re.findall(r"(?:^|\s)-k\s+(\S+)", text))
    base = {} if "--no-default-keywords" in text else dict(DEFAULT_KEYWORDS)
    return {**base, **extra}


def read_catalog(language: str) -> Catalog:
    with po_path(language).open("rb") as fh:
        return read_po(fh, locale=language, domain=i18n.DOMAIN)


@pytest.fixture(scope="module")
def source_messages() -> dict[str | tuple[str, str], list[str]]:
    """msgid (a (singular, plural) pair for ngettext) → where the source uses it."""
    with BABEL_CFG.open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, str(BABEL_CFG))
    found: dict[str | tuple[str, str], list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        PACKAGE, method_map, options_map, keywords=script_keywords()
    ):
        key = tuple(message) if isinstance(message, (tuple, list)) else message
        if not (key[0] if isinstance(key, tuple) else key):
            continue
        found.setdefault(key, []).append(f"pec_tui/{filename}:{lineno}")
    assert len(found) > 100, f"only {len(found)} messages extracted: is babel.cfg right?"
    return found


@pytest.fixture(scope="module")
def italian() -> Catalog:
    return read_catalog("it")


# --- (a) every source string has an Italian translation -------------------------------------


def forms(message: Message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def test_every_source_string_is_translated_into_italian(source_messages, italian) -> None:
    missing = []
    for msgid, where in sorted(source_messages.items(), key=lambda item: str(item[0])):
        message = italian.get(msgid)
        if message is None:
            problem = "not in the catalog"
        elif message.fuzzy:
            problem = "fuzzy"
        elif not all(forms(message)):
            problem = "untranslated"
        elif isinstance(msgid, tuple) != message.pluralizable:
            problem = "singular/plural mismatch with the catalog"
        else:
            continue
        missing.append(f"  {msgid!r} ({problem}; {', '.join(where[:3])})")
    assert not missing, (
        f"{len(missing)} message(s) without an Italian translation:\n"
        + "\n".join(missing)
        + f"\n{FIX}"
    )


def test_italian_plural_forms_are_two() -> None:
    catalog = read_catalog("it")
    assert catalog.num_plurals == 2 and catalog.plural_expr.replace(" ", "") == "(n!=1)", (
        f"Italian needs 'Plural-Forms: nplurals=2; plural=(n != 1);', the catalog has "
        f"{catalog.plural_forms!r}"
    )
    short = [m.id for m in catalog if m.id and m.pluralizable and len(forms(m)) != 2]
    assert not short, f"plural entries without exactly two forms: {short}"


def test_no_fuzzy_italian_entries(italian) -> None:
    fuzzy = [m.id for m in italian if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy entries (check them and remove the fuzzy flag): {fuzzy}"


def test_every_marked_string_is_a_literal() -> None:
    """pybabel only extracts string literals: `_(f"...")`, `_("a" + b)` or `_("..".format())`
    are silently left out of the catalogs (and never translated). Variables are allowed: they
    carry msgids marked elsewhere with N_()."""
    keywords = script_keywords()
    dynamic = (ast.Name, ast.Attribute, ast.Subscript)
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or path.name == "i18n.py":
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in keywords:
                continue
            spec = keywords[name] or (1,)
            positions = [p for p in spec if isinstance(p, int)]
            for position in positions:
                if position > len(node.args):
                    continue
                arg = node.args[position - 1]
                literal = isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                if not literal and not isinstance(arg, dynamic):
                    bad.append(
                        f"  {path.relative_to(ROOT)}:{node.lineno}: {name}({ast.unparse(arg)[:70]})"
                    )
    assert not bad, (
        "calls pybabel cannot extract (use a literal msgid with named {placeholders}, "
        "then .format() the translated text):\n" + "\n".join(bad)
    )


def import_time_translations() -> list[str]:
    """`_()`/`ngettext()` calls outside any function: they translate once, when the module is
    imported, in whatever language is active then (BINDINGS must use N_() and be translated
    per screen, as screens.flow.translate_bindings does)."""
    found = []

    def visit(node: ast.AST, path: Path, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Call) and not in_function:
                name = getattr(child.func, "id", None) or getattr(child.func, "attr", None)
                if name in ("_", "gettext", "ngettext"):
                    found.append(f"{path.relative_to(ROOT)}:{child.lineno}: {ast.unparse(child)}")
            nested = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            visit(child, path, in_function or nested)

    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name != "i18n.py":
            visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), path, False)
    return found


def test_nothing_is_translated_at_import_time() -> None:
    found = import_time_translations()
    assert not found, (
        "translated when the module is imported, so the language chosen later is ignored "
        "(mark with N_() and translate when shown):\n  " + "\n  ".join(found)
    )


# --- (b) placeholders and markup survive translation ----------------------------------------

PRINTF = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGc]")
MARKUP = re.compile(r"\[/?[a-zA-Z@$#][^\[\]]*\]|\[/\]")


def placeholders(text: str) -> Counter:
    """`{name}`, `{name:.1f}`, `{name!r}`, `%(name)s`, `%s` and Rich markup tags."""
    found: Counter = Counter()
    try:
        for _literal, field, spec, conversion in string.Formatter().parse(text):
            if field is not None:
                conv = f"!{conversion}" if conversion else ""
                fmt = f":{spec}" if spec else ""
                found[f"{{{field}{conv}{fmt}}}"] += 1
    except ValueError:  # not a valid format string: compare the braces as they are
        found.update(re.findall(r"\{[^{}]*\}", text))
    found.update(PRINTF.findall(text))
    found.update(MARKUP.findall(text))
    return found


def test_translations_keep_the_placeholders(italian) -> None:
    wrong = []
    for message in italian:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        for index, translation in enumerate(forms(message)):
            if not translation:
                continue
            original = ids[min(index, len(ids) - 1)]
            expected, got = set(placeholders(original)), set(placeholders(translation))
            if expected != got:
                wrong.append(
                    f"  {original!r}\n    -> {translation!r}\n"
                    f"    expected {sorted(expected)}, found {sorted(got)}"
                )
    assert not wrong, "translations whose placeholders or markup differ:\n" + "\n".join(wrong)


# --- (c) the compiled .mo files match the .po files -----------------------------------------


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_compiled_catalog_is_up_to_date(language: str) -> None:
    assert po_path(language).exists(), f"{po_path(language)} is missing. {FIX}"
    assert mo_path(language).exists(), f"{mo_path(language)} is missing. {FIX}"
    # Compile the .po in memory the way scripts/update-catalogs does, then compare what
    # gettext reads from both (not the bytes: another compiler may order them differently).
    compiled = io.BytesIO()
    write_mo(compiled, read_catalog(language), use_fuzzy="--use-fuzzy" in SCRIPT.read_text())
    compiled.seek(0)
    expected = gettext.GNUTranslations(compiled)
    with mo_path(language).open("rb") as fh:
        actual = gettext.GNUTranslations(fh)
    stale = {
        key: (actual._catalog.get(key), value)
        for key, value in expected._catalog.items()
        if key != "" and actual._catalog.get(key) != value
    }
    extra = sorted(str(key) for key in set(actual._catalog) - set(expected._catalog))
    assert not stale and not extra, (
        f"{mo_path(language).relative_to(ROOT)} is out of date with its .po "
        f"({len(stale)} different, {len(extra)} no longer in the .po; e.g. "
        f"{list(stale.items())[:3]} {extra[:3]}). Run scripts/update-catalogs."
    )
    for n in (0, 1, 2, 5):
        assert actual.ngettext("a", "b", n) == expected.ngettext("a", "b", n)
    assert actual.info().get("plural-forms") == expected.info().get("plural-forms")


# --- (d) the runtime switch -------------------------------------------------------------------


def test_english_shows_the_msgids(source_messages) -> None:
    try:
        i18n.set_language("en")
        changed = []
        for msgid in source_messages:
            if isinstance(msgid, tuple):
                singular, plural = msgid
                shown = (i18n.ngettext(singular, plural, 1), i18n.ngettext(singular, plural, 2))
                if shown != (singular, plural):
                    changed.append((msgid, shown))
            elif i18n._(msgid) != msgid:
                changed.append((msgid, i18n._(msgid)))
        assert not changed, f"the English UI does not show these msgids as written: {changed}"
        assert i18n.format_money(Decimal("1234.56")) == "€1,234.56"
    finally:
        i18n.set_language("it")


def test_italian_shows_the_catalog(italian) -> None:
    i18n.set_language("it")
    assert i18n._("Expiry") == "Data Scadenza"
    assert i18n.ngettext("{n} mailbox", "{n} mailboxes", 1) == "{n} casella"
    assert i18n.ngettext("{n} mailbox", "{n} mailboxes", 2) == "{n} caselle"
    wrong = []
    for message in italian:
        if not message.id or not all(forms(message)):
            continue
        if isinstance(message.id, tuple):
            shown = tuple(i18n.ngettext(*message.id, n) for n in (1, 2))
        elif message.context:
            shown = i18n.pgettext(message.context, message.id)
        else:
            shown = i18n._(message.id)
        if shown != message.string:
            wrong.append((message.id, shown, message.string))
    assert not wrong, f"the Italian UI does not show the .po translations: {wrong[:5]}. {FIX}"


def test_italian_money_and_dates() -> None:
    i18n.set_language("it")
    assert i18n.format_date(date(2019, 9, 25)) == "25/09/2019"
    # Babel separates the amount from the symbol with a no-break space.
    assert i18n.format_money(Decimal("1234.56")) == "1.234,56\xa0€"
    assert i18n.format_money(Decimal("1234.56")).replace("\xa0", " ") == "1.234,56 €"


def test_no_translation_call_hides_inside_an_f_string() -> None:
    """pybabel (on Python 3.11) does not look inside f-strings: `f"{_('x')}"` is never extracted."""
    hidden = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for joined in (n for n in ast.walk(tree) if isinstance(n, ast.JoinedStr)):
            for call in (n for n in ast.walk(joined) if isinstance(n, ast.Call)):
                name = getattr(call.func, "id", None)
                if (
                    name in {"_", "N_", "ngettext", "pgettext", "NC_"}
                    and call.args
                    and isinstance(call.args[0], ast.Constant)
                ):
                    hidden.append(f"{path.relative_to(PACKAGE.parent)}:{call.lineno}")
    assert not hidden, "move these translated strings out of their f-strings:\n  " + "\n  ".join(
        hidden
    )
