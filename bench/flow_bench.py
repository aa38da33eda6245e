"""The renewal flow with one reseller's whole 3-month selection (prints; not a test).

    python bench/flow_bench.py --database-url sqlite:////tmp/copy-of-m1.db
    python bench/flow_bench.py --database-url postgresql://postgres@127.0.0.1/copy_of_book1m

WRITES to the database (a draft, then a confirmed order): run it on a copy of a book.

The app runs in a 120x40 pseudo-terminal as in a real one (the helpers of table_bench.py),
signed in as the first reseller operator of the book (no password: the actor is given, as
`pec-tui demo` does). Keys are posted as the terminal driver posts them and each step is
timed from the key to the first frame written after the next screen is mounted:

    t (3-month selection, until its count shows) → r → plan picker → enter → kit → enter →
    holder → enter → order form → enter → contract → 1 2 3 enter → Conferma

plus, on Conferma, `l` (the full list of lines) until its first rows are on screen. Peak
memory is the app process's maximum RSS. Beside each step, the CPU time the app process
(all its threads) spent in it: steadier than the wall time on a shared machine. The anchor
of the same run: a minimal Textual app's first frame and the bare `import pec_tui.app`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import table_bench  # noqa: E402  (the key timer)
import terminal  # noqa: E402  (the pty runner)

STEPS = ("plan", "kit", "holder", "order_form", "contract", "conferma")


def child_flow(url: str, out: str, reseller_user: str) -> None:
    from sqlmodel import Session, select
    from textual import events

    from pec_tui.app import PecApp
    from pec_tui.config import Settings
    from pec_tui.db.models import Operator
    from pec_tui.screens.confirmation import ConfirmationScreen
    from pec_tui.screens.contract import ContractScreen
    from pec_tui.screens.holder_form import HolderFormScreen
    from pec_tui.screens.kit import KitScreen
    from pec_tui.screens.mailboxes import MailboxesScreen
    from pec_tui.screens.order_form import OrderFormScreen
    from pec_tui.screens.plan import PlanScreen
    from pec_tui.services.auth import actor_of
    from pec_tui.services.database import open_database

    engine = open_database(url)
    with Session(engine) as session:
        query = select(Operator).where(Operator.reseller_id.is_not(None))  # type: ignore[union-attr]
        if reseller_user:
            query = query.where(Operator.username == reseller_user)
        operator = session.exec(query.order_by(Operator.id)).first()
        assert operator is not None, "no reseller operator in this book"
        actor = actor_of(operator)
    app = PecApp(Settings(database_url=url), engine, actor=actor, today=lambda: table_bench.TODAY)
    timer = table_bench._KeyTimer(app)

    def screen_is(kind: type) -> bool:
        try:
            return isinstance(app.screen, kind) and app.screen.is_mounted
        except Exception:
            return False

    cpu: dict[str, float] = {}

    async def step(key: str, character: str | None, kind: type) -> float:
        started = time.perf_counter()
        cpu_started = time.process_time()
        app.post_message(events.Key(key, character))
        ms = await timer.until(lambda: screen_is(kind), started)
        await timer.next_frame()  # the frame with the new screen laid out and painted
        # CPU of the whole app process (all its threads) over the step: steadier than the
        # wall time on a shared machine.
        cpu[kind.__name__] = (time.process_time() - cpu_started) * 1000
        return (time.perf_counter() - started) * 1000 if ms else ms

    STEP_KINDS = (
        PlanScreen,
        KitScreen,
        HolderFormScreen,
        OrderFormScreen,
        ContractScreen,
        ConfirmationScreen,
    )

    async def scenario() -> None:
        while not screen_is(MailboxesScreen) or not app.screen.mailbox_count:  # type: ignore[attr-defined]
            await asyncio.sleep(0.05)
        home = app.screen
        await asyncio.sleep(0.5)
        started = time.perf_counter()
        app.post_message(events.Key("t", "t"))
        result: dict = {
            "selection_ms": await timer.until(
                lambda: (
                    home.filter.expiring_within_months is not None  # type: ignore[attr-defined]
                    and home.selected_count is not None
                ),  # type: ignore[attr-defined]
                started,
            )
        }
        result["selected"] = home.selected_count  # type: ignore[attr-defined]
        await asyncio.sleep(0.3)
        result["plan_ms"] = await step("r", "r", PlanScreen)
        result["mailboxes"] = len(app.screen.draft.items)  # type: ignore[attr-defined]
        result["kit_ms"] = await step("enter", None, KitScreen)
        result["holder_ms"] = await step("enter", None, HolderFormScreen)
        result["order_form_ms"] = await step("enter", None, OrderFormScreen)
        form = app.screen
        if getattr(form, "draft", None) is not None and form.draft.payment_method is None:  # type: ignore[attr-defined]
            await timer.key("1", "1")
        result["contract_ms"] = await step("enter", None, ContractScreen)
        for n in "123":
            await timer.key(n, n)
        result["conferma_ms"] = await step("enter", None, ConfirmationScreen)
        for name, kind in zip(STEPS, STEP_KINDS, strict=True):
            result[name + "_cpu_ms"] = cpu[kind.__name__]
        await asyncio.sleep(0.3)
        if "confirmation.lines" in {b.id for b in app.screen.BINDINGS if hasattr(b, "id")}:
            started = time.perf_counter()
            app.post_message(events.Key("l", "l"))
            result["full_list_ms"] = await timer.until(
                lambda: type(app.screen).__name__ == "OrderLinesScreen", started
            )
            await timer.next_frame()
            result["full_list_ms"] = (time.perf_counter() - started) * 1000
            result["full_list_pagedown_ms"] = await timer.median("pagedown", 5)
            result["full_list_end_ms"] = await timer.key("end")
        table_bench._write_result(out, result)

    table_bench._run_measuring(app, scenario)


def run_flow(url: str, reseller_user: str) -> dict:
    import json

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "result.json"
        _, rss = terminal.run_until(
            [sys.executable, __file__, "--child", url, str(out), reseller_user],
            lambda _lines: out.exists(),
            timeout=900,
        )
        result = json.loads(out.read_text())
    result["max_rss_kb"] = rss
    return result


def bare_import_ms() -> float:
    code = (
        "import time; t = time.perf_counter(); import pec_tui.app; print(time.perf_counter() - t)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return float(output) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=False)
    parser.add_argument(
        "--reseller-user", default="", help="operator name (first one if not given)"
    )
    parser.add_argument("--child", nargs=3, metavar=("URL", "OUT", "USER"))
    args = parser.parse_args()
    if args.child:
        child_flow(*args.child)
        return
    if not args.database_url:
        parser.error("--database-url is required")
    load = " ".join(f"{n:.2f}" for n in os.getloadavg())
    print(f"renewal flow bench — {args.database_url.split(':', 1)[0]}, 120x40 pty")
    print(f"load average before: {load}")
    seconds, rss = table_bench.first_rows(None, "minimal")
    print(
        f"anchor: minimal Textual app first frame {seconds * 1000:.0f} ms, peak {rss / 1024:.0f} MB"
    )
    print(f"anchor: bare `import pec_tui.app` {bare_import_ms():.0f} ms")
    result = run_flow(args.database_url, args.reseller_user)
    print(
        f"t → selection of {result['selected']:,} mailboxes counted  {result['selection_ms']:8.0f} ms"
    )
    labels = {
        "plan": f"r → plan picker ({result['mailboxes']:,} mailboxes)",
        "kit": "plan → kit",
        "holder": "kit → holder",
        "order_form": "holder → order form",
        "contract": "order form → contract",
        "conferma": "contract → Conferma",
    }
    for name in STEPS:
        print(
            f"{labels[name]:<44}{result[name + '_ms']:8.0f} ms"
            f"   (CPU {result.get(name + '_cpu_ms', float('nan')):6.0f} ms)"
        )
    if "full_list_ms" in result:
        print(f"{'Conferma: l → full list of lines':<44}{result['full_list_ms']:8.0f} ms")
        print(
            f"{'  PgDn / End in it':<44}{result['full_list_pagedown_ms']:8.0f} / "
            f"{result['full_list_end_ms']:.0f} ms"
        )
    print(f"{'peak RSS of the app process':<44}{result['max_rss_kb'] / 1024:8.0f} MB")
    print(f"load average after: {' '.join(f'{n:.2f}' for n in os.getloadavg())}")


if __name__ == "__main__":
    main()
