"""``sfrenew report``: the renewal analytics of the mirror as one offline page, or JSON."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from sfrenew.cli._ops_common import EXIT_CONFIG, config_option, fail, open_config
from sfrenew.clock import utc_now
from sfrenew.config import AppConfig
from sfrenew.core.analytics import (
    BookFigures,
    ConversionRates,
    Grain,
    SnapshotRow,
    book_figures,
)
from sfrenew.report import (
    figures_json,
    read_currencies,
    read_facts,
    read_snapshots,
    render_page,
)
from sfrenew.store import open_store

DEFAULT_CURRENCY = "USD"


def parse_rates(rates: tuple[str, ...]) -> dict[str, Decimal]:
    """``EUR=0.92`` options as a table (exit 2 on a malformed one)."""
    table: dict[str, Decimal] = {}
    for item in rates:
        code, _, text = item.partition("=")
        try:
            value = Decimal(text)
        except InvalidOperation:
            value = Decimal(0)
        if not code.strip() or not value.is_finite() or value <= 0:
            fail(f"--rate {item!r}: expected CODE=RATE with a positive rate, e.g. "
                 f"EUR=0.92 (euros per one unit of the corporate currency)", EXIT_CONFIG)
        table[code.strip().upper()] = value
    return table


def report_figures(config: AppConfig, *, currency: str | None = None,
                   rates: dict[str, Decimal] | None = None,
                   grain: Grain = Grain.MONTH) -> BookFigures:
    """The figures of the config's mirror, as of today (the injected clock).

    Rates are the mirrored ``currency_rate`` records (CurrencyType) and dated rates
    (DatedConversionRate, where the org has them), ``rates`` on top;
    the reporting currency is ``currency``, else the org's corporate one, else USD.
    """
    store = open_store(config.store_url)
    try:
        org = read_currencies(store, config.mapping)
        read = read_facts(store, config.mapping, default_currency=org.corporate
                          or DEFAULT_CURRENCY, decimals=config.rules.currencies)
        stored = read_snapshots(store, config.mapping)
    finally:
        store.close()
    target = (currency or org.corporate or DEFAULT_CURRENCY).upper()
    table = {**org.rates, **(rates or {})}
    if target not in table:
        if table:
            fail(f"no conversion rate for the reporting currency {target} (the org has "
                 f"{', '.join(sorted(table))}); pass --rate {target}=RATE", EXIT_CONFIG)
        table[target] = Decimal(1)  # a single-currency org: nothing to convert
    # With advanced currency management the rate in force on each close date wins
    # (DatedConversionRate); a --rate given here replaces the currency's dated rates.
    dated = tuple(r for r in org.dated if r.currency not in (rates or {}))
    conversion = ConversionRates(rates=table, dated=dated,
                                 decimals={**config.rules.currencies, **org.decimals})
    # The weekly snapshots the analytics job stored, as taken (never recomputed), in
    # the reporting currency and grain: what forecast accuracy judges.
    snapshots = [SnapshotRow(r.snapshot_date, r.period, r.category, r.amount, r.renewals)
                 for r in stored.values() if r.currency == target
                 and ("Q" in r.period) == (grain is Grain.QUARTER)]
    figures = book_figures(read.facts, rates=conversion, currency=target,
                           today=utc_now().date(), grain=grain,
                           grace_days=config.rules.lapse.grace_days, snapshots=snapshots)
    figures.problems[:0] = read.problems
    return figures


def write_report(figures: BookFigures, out: Path) -> Path:
    """Write the page to ``out`` (folders created) and return its path."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_page(figures), encoding="utf-8")
    return out


@click.command()
@config_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("report.html"), show_default=True, help="Where to write the page.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the figures as JSON on stdout instead of writing the page.")
@click.option("--currency", default=None,
              help="The reporting currency (default: the org's corporate currency).")
@click.option("--rate", "rates", multiple=True, metavar="CODE=RATE",
              help="A conversion rate over the org's (CurrencyType): units of CODE per one "
                   "unit of the corporate currency, e.g. --rate EUR=0.92. Renewals in a "
                   "currency without a rate are listed and left out.")
@click.option("--grain", type=click.Choice([g.value for g in Grain]), default="month",
              show_default=True, help="Periods of the figures.")
def report(*, config_path: str, out: Path, as_json: bool, currency: str | None,
           rates: tuple[str, ...], grain: str) -> None:
    """Renewal analytics of the mirror (no Salesforce call): ATR, GRR/NRR, on-time rate,
    forecast and the T-minus pipeline, as one offline page (docs/analytics.md)."""
    config = open_config(config_path)
    figures = report_figures(config, currency=currency, rates=parse_rates(rates),
                             grain=Grain(grain))
    if as_json:
        click.echo(figures_json(figures))
        return
    path = write_report(figures, out)
    for problem in figures.problems:
        click.echo(f"left out: {problem}", err=True)
    click.echo(f"report written: {path}")


def demo_report(config: AppConfig, out: Path) -> Path:
    """The demo's page, in the local org's corporate currency at its rates."""
    return write_report(report_figures(config), out)
