"""Working on many rows at once: the collector paused while rows become tuples."""

from __future__ import annotations

import gc
import threading

import pytest

from pec_tui.db.batches import gc_paused


@pytest.fixture(autouse=True)
def _collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_is_off_inside_and_on_again_after():
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():  # nested: the inner end does not turn it on
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_comes_back_after_an_exception():
    with pytest.raises(ValueError), gc_paused():
        raise ValueError
    assert gc.isenabled()


def test_a_collector_turned_off_by_someone_else_stays_off():
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_concurrent_pauses_end_with_the_last():
    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        with gc_paused():
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=other)
    with gc_paused():
        thread.start()
        assert inside.wait(5)
    assert not gc.isenabled()  # the other thread's pause is still on
    leave.set()
    thread.join(5)
    assert gc.isenabled()
