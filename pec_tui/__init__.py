"""pec-tui: manage and renew Italian PEC (certified e-mail) mailboxes from a terminal."""

__version__ = "0.1.0"
