"""Modal dialogs: each a self-contained `ModalScreen` with its own style and result type."""
