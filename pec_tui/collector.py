"""The cyclic garbage collector around work that makes tens of thousands of objects.

`gc_paused`: no collection while rows become tuples and draft items (`services`). `frozen`:
what a long task (the renewal flow) keeps for its whole length is moved out of the
collector's sight when it is made (`gc.freeze`), and given back when the task ends.

Why: a 3-month selection is 54,000 draft items, alive from `r` to Conferma. Once the pause
ends, the objects made during it are counted for the next collections, and a full collection
walks all of them and every object of the UI: measured in the app at `r`, 0.25 s of a full
pass and 0.13 s of younger ones on the UI thread, in the first frame of the plan picker.
They make no reference cycles (refcounting frees them when the draft goes), so nothing is
lost by keeping them out; garbage cycles that exist at the freeze wait for the thaw.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _GcPauses:
    """How many `gc_paused` blocks run now, and whether the collector was on before them."""

    lock = threading.Lock()
    count = 0
    was_enabled = True


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while tens of thousands of rows become tuples.

    Each collection walks the container objects of the process (the UI's included): while
    54,000 mailboxes were read and made draft items, collections took as long as the rest.
    Rows and tuples of plain values make no reference cycles, so nothing is left for later
    but what other threads make meanwhile. Nested and concurrent pauses count: the last one
    to end turns the collector back on (if it was on before the first)."""
    with _GcPauses.lock:
        if _GcPauses.count == 0:
            _GcPauses.was_enabled = gc.isenabled()
            gc.disable()
        _GcPauses.count += 1
    try:
        yield
    finally:
        with _GcPauses.lock:
            _GcPauses.count -= 1
            if _GcPauses.count == 0 and _GcPauses.was_enabled:
                gc.enable()


@contextmanager
def frozen() -> Iterator[None]:
    """A pause (`gc_paused`) at whose end every object alive is frozen (`gc.freeze`): kept
    out of later collections until `thaw`, instead of counted for the next ones.

    For work whose result lives long (a renewal flow's draft): its objects are not walked
    again and again by collections while it lasts. Whoever freezes thaws when it is over."""
    with gc_paused():
        yield
        gc.freeze()


def thaw() -> None:
    """What was frozen goes back to the oldest generation (`gc.unfreeze`), collected with it
    from then on: every freeze at once, a worker's that finished after the task awaiting it
    was cancelled included. One renewal flow runs at a time; it thaws when it ends."""
    gc.unfreeze()
