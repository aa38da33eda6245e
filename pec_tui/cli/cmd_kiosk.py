"""`pec-tui kiosk`: the self-service terminal where customers renew their own mailboxes."""

from __future__ import annotations

from pec_tui.cli.group import CliContext, main, pass_ctx, require_terminal


@main.command()
@pass_ctx
def kiosk(ctx: CliContext) -> None:
    """Self-service kiosk: a customer identifies with a PEC address and the holder's codice
    fiscale or partita IVA, then sees and renews only that holder's mailboxes.

    There is no quit key: stop it from outside (close the terminal, or the browser tab
    under `pec-tui serve --kiosk`). After PEC_TUI_KIOSK_IDLE_SECONDS (default 120) without
    input the screen is cleared for the next customer.
    """
    from pec_tui.kiosk import run_kiosk

    require_terminal()
    run_kiosk(ctx.settings, ctx.engine)
