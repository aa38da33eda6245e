"""Imports every command module so that each registers itself on the `main` group."""

import importlib
import pkgutil

import pec_tui.cli as _cli

for _module in pkgutil.iter_modules(_cli.__path__):
    if _module.name.startswith("cmd_"):
        importlib.import_module(f"pec_tui.cli.{_module.name}")
