"""Working on many rows at once: the collector paused while rows become tuples, and what a
long task keeps frozen out of its passes until the task ends."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from pec_tui.collector import frozen, gc_paused, thaw


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


class _Node:
    """An object the collector tracks (a container)."""

    def __init__(self) -> None:
        self.other: _Node | None = None


def test_frozen_keeps_what_it_made_out_of_collections_until_thawed():
    before = gc.get_freeze_count()
    with frozen():
        kept = [_Node() for _ in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= before + 1000
    assert all(gc.is_tracked(n) for n in kept[:3])
    thaw()
    assert gc.get_freeze_count() == 0


def test_one_thaw_gives_back_every_freeze():
    with frozen():
        pass
    with frozen():
        pass
    assert gc.get_freeze_count() > 0
    thaw()
    assert gc.get_freeze_count() == 0


def test_a_failed_block_freezes_nothing():
    with pytest.raises(ValueError), frozen():
        raise ValueError
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()


def test_a_cycle_made_before_the_freeze_is_collected_after_the_thaw():
    first = _Node()
    second = _Node()
    first.other, second.other = second, first
    alive = weakref.ref(first)
    with frozen():
        del first, second
    gc.collect()
    assert alive() is not None  # frozen: not collected
    thaw()
    gc.collect()
    assert alive() is None
