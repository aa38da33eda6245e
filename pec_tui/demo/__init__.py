"""Demo data for `pec-tui demo`: synthetic resellers, holders, mailboxes and orders.

Not a use case of the application: it sits beside the services and uses them, and like
them never imports the UI toolkit.
"""
