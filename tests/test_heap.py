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
