"""The coordinator pauses the cyclic collector for bulk builds and freezes what they built."""

from __future__ import annotations

import gc

import pytest

from torc.server import heap


def test_bulk_freezes_a_big_build_and_a_delete_hands_it_back() -> None:
    heap.released()
    with heap.bulk():
        assert not gc.isenabled()
        with heap.bulk():  # two creates interleaving at their awaits
            built = [[i] for i in range(heap.FREEZE_AFTER + 1000)]
        assert not gc.isenabled()  # the outer one still builds
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(built)
    heap.released()
    assert gc.get_freeze_count() == 0


def test_a_failed_or_small_build_leaves_the_collector_as_it_was() -> None:
    heap.released()
    with pytest.raises(ValueError), heap.bulk():
        raise ValueError("refused spec")
    assert gc.isenabled() and gc.get_freeze_count() == 0
    # A small build's garbage cycles are collected as usual, not frozen.
    with heap.bulk():
        a: list = []
        a.append(a)
    del a
    assert gc.get_freeze_count() == 0


def test_what_survives_a_full_collection_is_frozen_and_garbage_is_still_collected() -> None:
    heap.install()
    try:
        heap.released()
        kept = [[i] for i in range(1000)]  # noqa: F841 - live state
        gc.collect()
        assert gc.get_freeze_count() >= 1000
        # A cycle made afterwards is garbage the next full collection still finds.
        a: list = []
        a.append(a)
        del a
        assert gc.collect() >= 1
    finally:
        gc.callbacks.remove(heap._after_full)  # this process is pytest's, not a coordinator
        heap.released()
