"""The JSON codec keeps Decimal, date and datetime exact."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from sfrenew.store import codec


@pytest.mark.parametrize("value", [
    None, True, 0, 1.5, "text", "日本",
    Decimal("12000.00"), Decimal("0.1"), Decimal("-3E+2"), Decimal("8547.945205479452"),
    date(2024, 2, 29), datetime(2026, 11, 24, 7, 15, tzinfo=UTC),
    {"Amount": Decimal("1.10"), "CloseDate": date(2026, 1, 31), "Account": {"Name": "Acme"}},
    [Decimal("1"), date(2026, 1, 1), None],
])
def test_round_trip_keeps_type_and_digits(value: Any) -> None:
    back = codec.loads(codec.dumps(value))
    assert back == value
    assert type(back) is type(value)
    if isinstance(value, Decimal):
        assert str(back) == str(value)  # trailing zeros are part of the money value


def test_tags_are_documented_shape() -> None:
    assert codec.dumps(Decimal("1.50")) == '{"$decimal":"1.50"}'
    assert codec.dumps(date(2026, 1, 31)) == '{"$date":"2026-01-31"}'
    assert codec.dumps({"b": 1, "a": 2}) == '{"a":2,"b":1}'  # stable text


def test_refuses_what_it_cannot_round_trip() -> None:
    with pytest.raises(TypeError, match="set"):
        codec.dumps({1, 2})
    with pytest.raises(ValueError, match="JSON compliant"):
        codec.dumps(float("nan"))


def test_one_encoder_and_one_decoder_serve_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    for cls in (json.JSONEncoder, json.JSONDecoder):
        init = cls.__init__

        def counting(self: Any, *args: Any, _init: Any = init, **kwargs: Any) -> None:
            built.append(type(self).__name__)
            _init(self, *args, **kwargs)

        monkeypatch.setattr(cls, "__init__", counting)
    for value in ({"Amount": Decimal("1.10")}, [date(2026, 1, 31)], "text"):
        assert codec.loads(codec.dumps(value)) == value
    assert built == []


@pytest.mark.parametrize("value", [
    None, True, False, 0, -7, 10**20, "", "text", 'quote " and \\ and \n', "日本 – €",
    Decimal("12000.00"), Decimal("-3E+2"), Decimal("NaN"), date(2024, 2, 29),
])
def test_scalars_text_as_the_encoder_writes_them(value: Any) -> None:
    assert codec.dumps(value) == codec._ENCODER.encode(value)


@pytest.mark.parametrize("text", [
    '"text"', '""', '"日本 – €"', '"quote \\" inside"', '"back\\\\slash"', '"tab\\t"',
    '"\\u00e9"', 'null', 'true', 'false', '0', '-7', '1.5', '[1,2]', '{"a":1}',
    '{"$decimal":"12.30"}', '{"$decimal":"-3E+2"}', '{"$decimal":"NaN"}',
    '{"$date":"2024-02-29"}', '{"$datetime":"2026-11-24T07:15:00+00:00"}',
    '{"$decimal":"1","x":2}', '{"$date":"2024-02-29","$decimal":"1"}',
    '{"$decimal":"1.5\\u0030"}', '{"$decimal": "1.5"}', ' "spaced" ', '"a" ',
])
def test_direct_reads_give_what_the_decoder_gives(text: str) -> None:
    expected = codec._DECODER.decode(text)
    back = codec.loads(text)
    assert type(back) is type(expected)
    assert repr(back) == repr(expected)  # digits kept; Decimal('NaN') is not == itself


@pytest.mark.parametrize("text", ['"a" "b"', '{"$decimal":"x"}', '"unterminated', "nul"])
def test_direct_reads_refuse_what_the_decoder_refuses(text: str) -> None:
    refusals = (ValueError, ArithmeticError)  # JSONDecodeError, Decimal's InvalidOperation
    with pytest.raises(refusals):
        codec._DECODER.decode(text)
    with pytest.raises(refusals):
        codec.loads(text)
