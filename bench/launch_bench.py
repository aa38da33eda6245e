"""Launch figures: `pec-tui` → sign-in form, and Enter → mailbox rows (prints; not a test).

    python bench/launch_bench.py --sqlite /tmp/copy-of-m1.db --postgres postgresql://…/copy
    python bench/launch_bench.py --sqlite BOOK --before /path/to/older/checkout --runs 7

Each figure is the median of `--runs` whole processes on a 120x40 pseudo-terminal, read into
a `pyte` screen (bench/terminal.py), in the same run:

* the anchor — a minimal Textual app (a Static and an Input): process start → its first
  frame on the terminal;
* `pec-tui` (no command, as an operator starts it): process start → the sign-in form on the
  terminal (its title and the password field);
* database open: process start → the demo operators named on the form (shown once the
  database is open);
* Enter → rows: the demo administrator's name and password typed into the form as a person
  would, Enter pressed `--typing` seconds after the form appeared (or, when the database
  took longer, as soon as it is open: counted as "late"); from Enter until a mailbox row (a
  selection box and an address) is on the terminal;
* everything typed at once: the credentials and Enter written as soon as the form is drawn
  (the worst case: the sign-in then waits for the database to be opened behind the form);
  from process start until the first rows.

The books are copies (the bench signs in, which writes the audit trail, and gives the demo
operators new passwords with `pec-tui demo --accounts`). `--before DIR` runs the same
figures for the `pec_tui` package found in DIR (e.g. a worktree of an older commit), beside.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

from terminal import PtyChild, load_average, median_of, run_until

MINIMAL_TEXT = "minimal-app-ready"
MINIMAL_APP = f"""
from textual.app import App
from textual.widgets import Input, Static

class Minimal(App):
    def compose(self):
        yield Static({MINIMAL_TEXT!r})
        yield Input(placeholder="type here")

Minimal().run()
"""
# The sign-in form is on screen when its title and its last field are (Italian: the default).
FORM_TEXTS = ("pec-tui — accesso operatore", "Password")
# Named on the form of a demo book once the database is open.
DEMO_HINT = "Operatori: admin"
PEC_TUI = str(Path(sys.executable).parent / "pec-tui")


def _env(before: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEC_TUI_")}
    env["PEC_TUI_LANG"] = "it"
    env["TERM"] = "xterm-256color"
    if before:
        env["PYTHONPATH"] = before
    return env


def admin_password(url: str) -> str:
    """New passwords for the demo operators (`demo --accounts`): the administrator's."""
    printed = subprocess.run(
        [PEC_TUI, "--database-url", url, "demo", "--accounts", "--no-ui"],
        check=True,
        capture_output=True,
        text=True,
        env=_env(None),
    ).stdout
    match = re.search(r"^\s+admin\s+(\S+)\s", printed, re.MULTILINE)
    if match is None:
        raise SystemExit(f"no demo administrator on {url}:\n{printed}")
    return match.group(1)


# A mailbox row of the list: its selection box, then an address.
ROW = re.compile(r"^\s*\[[ x✓-]\]\s+\S+@")


def rows_shown(lines: list[str]) -> bool:
    return any(ROW.match(line) for line in lines)


def minimal() -> tuple[float, int]:
    return run_until(
        [sys.executable, "-c", MINIMAL_APP],
        lambda lines: any(MINIMAL_TEXT in line for line in lines),
        timeout=60,
    )


def _form_shown(lines: list[str]) -> bool:
    return all(any(text in line for line in lines) for text in FORM_TEXTS)


def launch(url: str, password: str, typing: float, before: str | None) -> dict:
    """One `pec-tui` process: seconds to the form, to the database open (the demo operators
    named on the form), and Enter → rows with Enter pressed `typing` seconds after the form."""
    with PtyChild([PEC_TUI, "--database-url", url], env=_env(before)) as child:
        form = child.wait_for(_form_shown, timeout=120)
        child.type("admin\t" + password)
        opened = child.wait_for(lambda lines: any(DEMO_HINT in line for line in lines), 120)
        child.drain(max(0.0, form + typing - child.elapsed()))
        enter = child.elapsed()
        child.type("\r")
        rows = child.wait_for(rows_shown, 120)
    return {
        "form": form,
        "opened": opened,
        "enter_to_rows": rows - enter,
        "late": enter > form + typing + 0.05,
        "rss_kb": child.max_rss_kb,
    }


def at_once(url: str, password: str, before: str | None) -> float:
    """Credentials and Enter typed as soon as the form is drawn: process start → rows."""
    with PtyChild([PEC_TUI, "--database-url", url], env=_env(before)) as child:
        child.wait_for(_form_shown, timeout=120)
        child.type("admin\t" + password + "\r")
        return child.wait_for(rows_shown, 120)


def report(name: str, url: str, runs: int, typing: float, before: str | None) -> None:
    password = admin_password(url)
    anchor, _ = median_of(runs, minimal)
    print(f"{name}: minimal Textual app (Static + Input) first frame {anchor * 1000:5.0f} ms")
    versions = [("this version", None)] + ([("before", before)] if before else [])
    for label, path in versions:
        measured = [launch(url, password, typing, path) for _ in range(runs)]
        form = statistics.median(m["form"] for m in measured)
        opened = statistics.median(m["opened"] for m in measured)
        late = sum(m["late"] for m in measured)
        rows = statistics.median(m["enter_to_rows"] for m in measured)
        rss = statistics.median(m["rss_kb"] for m in measured) / 1024
        whole = statistics.median(at_once(url, password, path) for _ in range(runs))
        print(
            f"  {label:>12}: process start → sign-in form {form * 1000:5.0f} ms "
            f"({form / anchor:.1f}× the minimal app)   database open {opened * 1000:5.0f} ms   "
            f"Enter → rows {rows * 1000:5.0f} ms{f' ({late} Enter late)' if late else ''}   "
            f"typed at once: start → rows {whole * 1000:5.0f} ms   peak {rss:.0f} MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", type=Path, help="a copy of a demo book (SQLite file)")
    parser.add_argument("--postgres", help="URL of a copy of a demo book on PostgreSQL")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--typing", type=float, default=3.0, help="seconds from the form to Enter (default 3)"
    )
    parser.add_argument("--before", help="a checkout whose pec_tui to measure beside")
    args = parser.parse_args()
    if not args.sqlite and not args.postgres:
        parser.error("give --sqlite FILE and/or --postgres URL (copies: the bench writes)")
    print(
        f"launch bench — median of {args.runs} whole processes, 120x40 pty, "
        f"Enter {args.typing:g} s after the form"
    )
    print(f"load average before: {load_average()}")
    if args.sqlite:
        report("SQLite", f"sqlite:///{args.sqlite}", args.runs, args.typing, args.before)
    if args.postgres:
        report("PostgreSQL", args.postgres, args.runs, args.typing, args.before)
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
