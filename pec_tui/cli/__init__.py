"""The `pec-tui` command line: the TUI by default, and the commands resellers script.

Importing a command module registers its commands on `main` (see `cli.group`).
"""

from pec_tui.cli import (  # noqa: F401
    cmd_audit,
    cmd_buy,
    cmd_credit,
    cmd_db,
    cmd_demo,
    cmd_invoices,
    cmd_kiosk,
    cmd_lifecycle,
    cmd_mailboxes,
    cmd_operators,
    cmd_orders,
    cmd_outbox,
    cmd_payments,
    cmd_prices,
    cmd_renew,
    cmd_report,
    cmd_serve,
)
from pec_tui.cli.group import EXIT_REFUSED, main

__all__ = ["EXIT_REFUSED", "main"]
