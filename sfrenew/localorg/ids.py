"""Salesforce record Ids: 15-character case-sensitive Ids and their 18-character form.

An Id is a 3-character key prefix (the object), a 2-character pod/instance part, and
a base-62 counter. The 18-character form appends a 3-character suffix that encodes,
for each 5-character chunk of the 15-character Id, which characters are upper case,
so the Id survives case-insensitive systems.
"""

from __future__ import annotations

import re

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID15 = re.compile(r"^[0-9A-Za-z]{15}$")
_ID18 = re.compile(r"^[0-9A-Za-z]{18}$")
INSTANCE = "5g"  # the local org's pod part; real orgs use e.g. "5f", "0b"


def case_safe_suffix(id15: str) -> str:
    """The 3-character suffix that makes a 15-character Id case-insensitively unique."""
    suffix = []
    for chunk_start in (0, 5, 10):
        bits = 0
        for i, ch in enumerate(id15[chunk_start : chunk_start + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        suffix.append(_SUFFIX_ALPHABET[bits])
    return "".join(suffix)


def make_id(key_prefix: str, number: int) -> str:
    """The 18-character Id of the ``number``-th record with this key prefix."""
    digits = []
    n = number
    for _ in range(10):
        n, r = divmod(n, 62)
        digits.append(_BASE62[r])
    if n:
        raise ValueError(f"record number {number} does not fit in an Id")
    id15 = key_prefix + INSTANCE + "".join(reversed(digits))
    return id15 + case_safe_suffix(id15)


_PAIRS = [a + b for a in _BASE62 for b in _BASE62]  # two base-62 digits, in number order
# Upper-case bits of each two-digit tail, shifted to positions 3 and 4 of its 5-char chunk.
_PAIR_BITS = [(("A" <= p[0] <= "Z") << 3) | (("A" <= p[1] <= "Z") << 4) for p in _PAIRS]


def make_ids(key_prefix: str, first: int, count: int) -> list[str]:
    """``[make_id(key_prefix, n) for n in range(first, first + count)]``, quickly.

    The seed generator inserts millions of rows; this builds the 8 leading counter
    digits and their suffix bits once per 3,844 Ids and the last two from tables.
    """
    if first < 0 or first + count > 62**10:
        raise ValueError("record numbers do not fit in an Id")
    ids: list[str] = []
    number, end = first, first + count
    while number < end:
        high, low = divmod(number, 3844)
        head = make_id(key_prefix, high * 3844)[:13]  # prefix + pod + 8 counter digits
        head_suffix = case_safe_suffix(head + "00")
        # Bits of chunk 3 (chars 10..14) from chars 10..12; the last two are per Id.
        chunk3 = sum(1 << i for i, ch in enumerate(head[10:13]) if "A" <= ch <= "Z")
        stop = min(end, (high + 1) * 3844)
        for tail in range(low, low + stop - number):
            ids.append(head + _PAIRS[tail] + head_suffix[:2]
                       + _SUFFIX_ALPHABET[chunk3 | _PAIR_BITS[tail]])
        number = stop
    return ids


def normalize_id(value: str) -> str | None:
    """The 18-character form of a 15- or 18-character Id, or None if it is not an Id.

    An 18-character Id whose suffix does not match its first 15 characters is not an Id.
    """
    if _ID15.match(value):
        return value + case_safe_suffix(value)
    if _ID18.match(value):
        # Salesforce accepts the 18-character form in any case: the suffix restores it.
        base = value[:15]
        suffix = value[15:].upper()
        restored = []
        for chunk, code in zip((0, 5, 10), suffix, strict=True):
            pos = _SUFFIX_ALPHABET.find(code)
            if pos < 0:
                return None
            for i, ch in enumerate(base[chunk : chunk + 5]):
                restored.append(ch.upper() if pos & (1 << i) else ch.lower())
        id15 = "".join(restored)
        # A suffix bit set for a digit cannot be restored: Salesforce answers MALFORMED_ID.
        if case_safe_suffix(id15) != suffix:
            return None
        return id15 + suffix
    return None


def key_prefix_of(record_id: str) -> str:
    """The object key prefix of an Id."""
    return record_id[:3]
