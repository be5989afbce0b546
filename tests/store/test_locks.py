"""Advisory locks: one holder per name."""

from __future__ import annotations

import threading

import pytest

from sfrenew.locks import Busy
from sfrenew.store import StateStore, open_store


def test_second_holder_is_refused_until_release(store: StateStore, store_url: str) -> None:
    with open_store(store_url) as other:  # another replica (or store) on the same database
        with store.advisory_lock("org:00D000000000001"):
            with pytest.raises(Busy, match="00D000000000001"), \
                    other.advisory_lock("org:00D000000000001"):
                pytest.fail("two holders of one lock")
            with other.advisory_lock("org:00D000000000002"):  # other names are free
                pass
        with other.advisory_lock("org:00D000000000001"):
            pass


def test_waiting_holder_gets_it_after_release(store: StateStore, store_url: str) -> None:
    got = threading.Event()
    with open_store(store_url) as other:
        with store.advisory_lock("scheduler"):
            def wait_for_it() -> None:
                with other.advisory_lock("scheduler", wait=True):
                    got.set()

            waiter = threading.Thread(target=wait_for_it)
            waiter.start()
            assert not got.wait(0.3)
        waiter.join(timeout=10)
    assert got.is_set()
