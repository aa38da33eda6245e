"""Input validators backed by the domain's `check_*` functions."""

from __future__ import annotations

from collections.abc import Callable

from textual.validation import ValidationResult, Validator

from pec_tui.domain.validation import ValidationError, check_codice_fiscale, check_partita_iva
from pec_tui.services import kiosk


def check_tax_code(value: str) -> str:
    """A holder's codice fiscale (16 characters or 11 digits) or partita IVA (11 digits)."""
    code = kiosk.normalise_tax_code(value)
    if len(code) == 11 and code.isdigit():
        try:
            return check_partita_iva(code)
        except ValidationError:
            # Public bodies have an 11-digit codice fiscale that is not a partita IVA.
            return check_codice_fiscale(code)
    return check_codice_fiscale(code)


class DomainValidator(Validator):
    """Runs a `check_*` function of the domain; its message is shown under the field."""

    def __init__(self, check: Callable[[str], str]) -> None:
        super().__init__()
        self.check = check

    def validate(self, value: str) -> ValidationResult:
        try:
            self.check(value)
        except ValidationError as exc:
            return self.failure(exc.message)
        return self.success()
