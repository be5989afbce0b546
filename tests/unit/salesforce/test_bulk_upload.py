"""Bulk API 2.0 uploads written to files a job at a time, and result rows matched back
to the uploaded rows by digest."""

from __future__ import annotations

import pytest

from sfrenew.salesforce import bulk
from sfrenew.salesforce.bulk import _RowDigests, _spooled_uploads
from sfrenew.salesforce.errors import UnexpectedResponse


def _rows(n: int) -> list[list[str]]:
    return [[f"k{i}", f"name {i}, with a comma"] for i in range(n)]


def test_one_file_holds_the_header_and_every_row() -> None:
    [(start, stop, upload, digests)] = list(_spooled_uploads(["Key", "Name"], iter(_rows(3))))
    with upload:
        assert (start, stop) == (0, 3)
        assert upload.read().decode() == ('Key,Name\nk0,"name 0, with a comma"\n'
                                          'k1,"name 1, with a comma"\nk2,"name 2, with a comma"\n')
    assert digests.claim(["k2", "name 2, with a comma"]) == 2


def test_rows_beyond_the_upload_limit_start_another_job(monkeypatch: pytest.MonkeyPatch) -> None:
    line = len(b'k0,"name 0, with a comma"\n')
    monkeypatch.setattr(bulk, "MAX_UPLOAD_BYTES", len(b"Key,Name\n") + 2 * line)
    jobs = list(_spooled_uploads(["Key", "Name"], iter(_rows(5))))
    assert [(start, stop) for start, stop, _f, _d in jobs] == [(0, 2), (2, 4), (4, 5)]
    for _start, _stop, upload, _digests in jobs:
        upload.close()
    # digests index rows within their own job
    assert jobs[1][3].claim(["k3", "name 3, with a comma"]) == 1


def test_identical_rows_are_claimed_first_come_first_served() -> None:
    digests = _RowDigests()
    for index, values in enumerate([["a"], ["b"], ["a"], ["a"]]):
        digests.add(values, index)
    assert [digests.claim(["a"]) for _ in range(3)] == [0, 2, 3]
    assert digests.claim(["b"]) == 1
    with pytest.raises(UnexpectedResponse):
        digests.claim(["a"])  # every copy was answered already
    with pytest.raises(UnexpectedResponse):
        digests.claim(["c"])  # never uploaded
