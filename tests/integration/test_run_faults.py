"""With 5% injected 503s and row lock errors the run ends in the same org state."""

from __future__ import annotations

from pathlib import Path

import pytest

from sfrenew.localorg.faults import FaultConfig
from tests.integration.test_run_support import dump, open_book

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_faults_do_not_change_the_end_state(tmp_path: Path) -> None:
    clean = open_book(tmp_path / "clean", contracts=150, write_chunk_size=50)
    try:
        assert clean.run().status == "succeeded"
        expected = dump(clean)
    finally:
        clean.org.stop()
    faulty = open_book(tmp_path / "faulty", contracts=150, write_chunk_size=50)
    try:
        faulty.org.configure_faults(FaultConfig(seed=5, server_unavailable_rate=0.05,
                                                lock_row_rate=0.05))
        outcomes = [faulty.run()]
        # A row still locked after the gateway's lock-retry rounds is a rejected row,
        # kept and retried by the next run, like any rejection.
        while outcomes[-1].stats["written"] and len(outcomes) < 5:
            outcomes.append(faulty.run())
        assert all(o.status == "succeeded" for o in outcomes), [o.message for o in outcomes]
        injected = faulty.org.stats()["faults"]
        assert sum(injected.values()) > 0, injected
        faulty.org.configure_faults(FaultConfig())
        assert dump(faulty) == expected
    finally:
        faulty.org.stop()
