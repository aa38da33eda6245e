"""Messages screens post to the application when it must do something for them (open a
screen of another module, start a renewal, begin or end a kiosk session): a screen never
imports the application, and screens never import each other in a circle."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from pec_tui.services.kiosk import Identified
    from pec_tui.services.mailboxes import Selection


class StartRenewal(Message):
    """Walk the renewal flow for these mailboxes."""

    def __init__(self, mailbox_ids: list[int]) -> None:
        super().__init__()
        self.mailbox_ids = mailbox_ids


class RenewSelection(Message):
    """Walk the renewal flow for the mailboxes of a selection (a snapshot of it): read once,
    by its rule, when the draft starts."""

    def __init__(self, selection: Selection) -> None:
        super().__init__()
        self.selection = selection


class OpenMailbox(Message):
    """Open Gestisci for one mailbox."""

    def __init__(self, mailbox_id: int) -> None:
        super().__init__()
        self.mailbox_id = mailbox_id


class OpenCustomerArea(Message):
    """Open a holder's Area clienti."""

    def __init__(self, holder_id: int) -> None:
        super().__init__()
        self.holder_id = holder_id


class OpenMailboxList(Message):
    """Open the mailbox list of one holder (to choose the mailboxes to renew)."""

    def __init__(self, holder_id: int) -> None:
        super().__init__()
        self.holder_id = holder_id


class OpenDashboard(Message):
    """Open Scadenze e incassi (the renewals dashboard)."""


class OpenDrafts(Message):
    """Open the unfinished renewals (the drafts kept when a flow was left or cut short)."""


class OpenExpiries(Message):
    """Open the mailbox list of the mailboxes expiring in one month (the dashboard's drill-down).

    `reseller_id` narrows it to one reseller's book (an administrator's dashboard filter).
    """

    def __init__(self, month: date, reseller_id: int | None = None) -> None:
        super().__init__()
        self.month = month
        self.reseller_id = reseller_id


class KioskIdentified(Message):
    """A kiosk customer proved who they are: their session begins."""

    def __init__(self, identified: Identified) -> None:
        super().__init__()
        self.identified = identified


class KioskSessionOver(Message):
    """The kiosk customer is done: forget them."""


class RenewalFlowFinished(Message):
    """Posted to the screen under the flow when it ends (e.g. to reload the mailbox list)."""

    def __init__(self, order_id: int | None, number: int | None) -> None:
        super().__init__()
        self.order_id = order_id
        self.number = number
