"""Settings: command-line flag > environment `PEC_TUI_*` > `config.toml` > defaults."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from pec_tui.paths import APP_NAME, config_dir, config_file, data_dir

__all__ = ["APP_NAME", "Settings", "config_dir", "config_file", "data_dir", "load_settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PEC_TUI_", extra="ignore")

    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in the data directory"
    )
    lang: Literal["it", "en"] = "it"
    terminal: str = Field(default_factory=socket.gethostname)
    # The bank account shown for bank transfers (the provider's, not the customer's).
    bank_iban: str = "IT60X0542811101000000123456"
    bank_beneficiary: str = "PEC Provider S.p.A."
    # E-mail delivery: a Maildir under the data directory unless an SMTP host is set.
    mail_from: str = "noreply@pec-tui.local"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    smtp_user: str | None = None
    smtp_password: str | None = None
    maildir: Path | None = None
    # Where the TUI writes exported invoice XML files (default: "fatture" in the data dir).
    invoice_dir: Path | None = None
    kiosk_idle_seconds: int = 120
    # A draft is held by the session working on it for this long, renewed while its flow is
    # open; past it the session is taken for dead and the draft is offered back: to the same
    # operator at once, to colleagues after `draft_colleague_wait_seconds` more.
    draft_lease_seconds: float = Field(default=60.0, gt=0)
    draft_colleague_wait_seconds: float = Field(default=300.0, ge=0)
    idle_lock_minutes: int = 15
    keymap: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file())
        return (init_settings, env_settings, toml)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        path = data_dir() / "pec-tui.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"

    def resolved_maildir(self) -> Path:
        return self.maildir or data_dir() / "Maildir"

    def resolved_invoice_dir(self) -> Path:
        return self.invoice_dir or data_dir() / "fatture"


def load_settings(**overrides: object) -> Settings:
    """Build settings; `overrides` are command-line flags (None means 'not given')."""
    given: dict[str, Any] = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**given)
