"""Record Ids: the case-safe suffix and normalisation."""

import pytest

from sfrenew.localorg.ids import case_safe_suffix, make_id, make_ids, normalize_id


@pytest.mark.parametrize(
    ("id15", "id18"),
    [
        ("001D000000IqhSL", "001D000000IqhSLIAZ"),  # Salesforce's documented example
        ("0015000000VALDt", "0015000000VALDtAAP"),
        ("000000000000000", "000000000000000AAA"),
    ],
)
def test_case_safe_suffix_matches_salesforce(id15: str, id18: str) -> None:
    assert id15 + case_safe_suffix(id15) == id18
    assert normalize_id(id15) == id18


def test_make_id_has_prefix_and_valid_suffix() -> None:
    record_id = make_id("001", 12345)
    assert len(record_id) == 18
    assert record_id.startswith("001")
    assert normalize_id(record_id[:15]) == record_id


def test_make_id_is_unique_per_number() -> None:
    assert len({make_id("006", n) for n in range(5000)}) == 5000


def test_normalize_restores_case_from_suffix() -> None:
    record_id = "001D000000IqhSLIAZ"
    assert normalize_id(record_id.lower()) == record_id


@pytest.mark.parametrize("bad", ["", "001", "001D000000IqhS!", "001D000000IqhSLIA",
                                 "a00B000000FSjVUIB1"])  # suffix marks a digit upper-case
def test_normalize_rejects_non_ids(bad: str) -> None:
    assert normalize_id(bad) is None


@pytest.mark.parametrize(("first", "count"), [
    (1, 8000),  # crosses two 3,844-Id blocks
    (3843, 3),
    (62**9 + 17, 4000),  # upper-case digits in the leading part
    (0, 0),
])
def test_make_ids_equals_make_id_one_by_one(first: int, count: int) -> None:
    assert make_ids("a0B", first, count) == [make_id("a0B", n)
                                             for n in range(first, first + count)]


def test_make_ids_rejects_numbers_that_do_not_fit() -> None:
    with pytest.raises(ValueError, match="do not fit"):
        make_ids("001", 62**10 - 1, 2)
