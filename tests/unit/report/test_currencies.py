"""The org's rates as the mirror holds them: CurrencyType and DatedConversionRate."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from sfrenew.core.analytics import ConversionRates
from sfrenew.mapping import load_mapping
from sfrenew.report import read_currencies
from sfrenew.store import MirrorRow, open_store

ROOT = Path(__file__).parents[3]
D = Decimal


def _rate(n: int, code: str, rate: str, start: str, end: str | None) -> MirrorRow:
    sf_id = f"04w0000000000{n:02d}AAA"
    return MirrorRow(sf_id, {"Id": sf_id, "IsoCode": code, "ConversionRate": float(rate),
                             "StartDate": start, "NextStartDate": end})


@pytest.mark.parametrize("preset", ["standard", "cpq"])
def test_dated_rates_win_on_their_dates(tmp_path: Path, preset: str) -> None:
    mapping = load_mapping(ROOT / "mappings" / f"{preset}.yaml").model
    with open_store(f"sqlite:///{tmp_path / 's.sqlite3'}") as store:
        store.upsert_mirror("CurrencyType", [
            MirrorRow(f"02X00000000000{i}AAA", {"IsoCode": c, "ConversionRate": r,
                                               "DecimalPlaces": 2, "IsActive": True,
                                               "IsCorporate": c == "USD"})
            for i, (c, r) in enumerate((("USD", 1.0), ("EUR", 0.92)))])
        store.upsert_mirror("DatedConversionRate", [
            _rate(1, "EUR", "0.92", "2000-01-01", "2025-01-01"),
            _rate(2, "EUR", "0.95", "2025-01-01", "2026-01-01"),
            _rate(3, "EUR", "0.90", "2026-01-01", None)])
        org = read_currencies(store, mapping)
    assert org.corporate == "USD"
    assert [(r.start, r.next_start, r.rate) for r in org.dated] == [
        (date(2000, 1, 1), date(2025, 1, 1), D("0.92")),
        (date(2025, 1, 1), date(2026, 1, 1), D("0.95")),
        (date(2026, 1, 1), date.max, D("0.9"))]  # no next start: from then on
    rates = ConversionRates(rates=org.rates, dated=org.dated, decimals=org.decimals)

    def usd(on: date) -> Decimal:
        return rates.convert(D("1000.00"), source="EUR", target="USD", on=on)

    assert usd(date(2024, 12, 31)) == D("1086.96")  # 1,000 / 0.92 = 1,086.956…
    assert usd(date(2025, 6, 30)) == D("1052.63")  # 1,000 / 0.95 = 1,052.631…
    assert usd(date(2026, 1, 1)) == D("1111.11")  # NextStartDate is exclusive: 0.90
    assert usd(date(2031, 3, 1)) == D("1111.11")  # the open-ended row


def test_without_dated_rates_the_plain_rate_applies(tmp_path: Path) -> None:
    mapping = load_mapping(ROOT / "mappings" / "standard.yaml").model
    with open_store(f"sqlite:///{tmp_path / 's.sqlite3'}") as store:
        store.upsert_mirror("CurrencyType", [
            MirrorRow("02X000000000001AAA", {"IsoCode": "EUR", "ConversionRate": 0.8,
                                             "IsActive": True})])
        org = read_currencies(store, mapping)
    assert org.dated == ()
    rates = ConversionRates(rates={**org.rates, "USD": D(1)}, dated=org.dated)
    # 1,000 / 0.8 = 1,250.00
    assert rates.convert(D(1000), source="EUR", target="USD", on=date(2025, 6, 30)) == D(1250)
