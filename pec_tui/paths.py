"""Where pec-tui keeps its configuration and data: cheap to import (no settings model), so
the terminal UI can read what it needs before its first frame (`config` re-exports these)."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_path, user_data_path

APP_NAME = "pec-tui"


def config_dir() -> Path:
    return Path(os.environ.get("PEC_TUI_CONFIG_DIR") or user_config_path(APP_NAME))


def data_dir() -> Path:
    return Path(os.environ.get("PEC_TUI_DATA_DIR") or user_data_path(APP_NAME))


def config_file() -> Path:
    return config_dir() / "config.toml"
