"""``sfrenew report`` on the local org, both presets: the renewals sfrenew wrote, then a
person's won and lost (with a loss reason), read back from the mirror into the figures.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from sfrenew.cli import main
from sfrenew.cli.report import report_figures
from sfrenew.core.analytics import (
    ConversionRates,
    DatedRate,
    Outcome,
    retention,
    timeliness,
)
from sfrenew.report import read_facts
from sfrenew.runner import RunRequest, Step
from sfrenew.salesforce import format_soql
from sfrenew.store import open_store
from tests.integration.renewal_desk_support import PRESETS, Desk, desk_fixture, rejected
from tests.integration.test_run_support import ROOT

pytestmark = pytest.mark.integration

OPP = ["CloseDate", "StageName", "Sfrenew_Coterm_Group__c", "Sfrenew_Prior_ARR__c",
       "Sfrenew_Renewal_ARR__c", "Sfrenew_Uplift_Amount__c"]


@pytest.fixture(params=PRESETS, ids=lambda p: Path(p).stem)
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Desk]:
    yield from desk_fixture(tmp_path, request.param)


def test_report_reads_the_renewals_and_their_outcomes(desk: Desk) -> None:
    outcome = desk.nightly()
    assert outcome.status == "succeeded", outcome.message
    assert rejected(outcome) == 0
    opps = desk.ours("Opportunity", OPP)
    # A renewal is in its contracts' currency (the presets do not write the opportunity's
    # CurrencyIsoCode, so the org shows its default there)
    contract_currency = {str(r["Id"]): str(r["CurrencyIsoCode"]) for r in desk.gateway().read(
        "Contract", ["Id", "CurrencyIsoCode"], "Status = 'Activated'")}
    for o in opps.values():
        o["CurrencyIsoCode"] = contract_currency[o["Sfrenew_Coterm_Group__c"].split(", ")[0]]
    usd = sorted((k, o) for k, o in opps.items() if o["CurrencyIsoCode"] == "USD")
    assert len(usd) >= 2
    (_, won), (_, lost) = usd[0], usd[1]
    # the rep sells two more units of one line, then closes it won: expansion
    lines = desk.gateway().read("OpportunityLineItem", ["Id", "Quantity",
                                                        "Sfrenew_Annual_Unit_Price__c"],
                                format_soql("OpportunityId = {}", won["Id"]))
    line = min(lines, key=lambda r: str(r["Id"]))
    desk.edit("OpportunityLineItem", line["Id"], Quantity=line["Quantity"] + 2)
    upsell = 2 * Decimal(str(line["Sfrenew_Annual_Unit_Price__c"]))
    desk.edit("Opportunity", won["Id"], StageName="Closed Won")
    desk.edit("Opportunity", lost["Id"], StageName="Closed Lost", Loss_Reason__c="Competitor")
    pulled = desk.run(RunRequest(job="analytics", steps=(Step.PULL,)))
    assert pulled.status == "succeeded", pulled.message

    with open_store(desk.config.store_url) as store:
        read = read_facts(store, desk.config.mapping, default_currency="USD")
    assert read.problems == []
    facts = {f.renewal_id: f for f in read.facts}
    # every renewal sfrenew wrote, and the seed's past renewals (closed, Type Renewal,
    # with the ARR fields; docs/localorg.md)
    history = {str(r["Id"]): dict(r) for r in desk.gateway().read(
        "Opportunity", ["Id", "CurrencyIsoCode", "CloseDate", "StageName",
                        "Sfrenew_Prior_ARR__c", "Loss_Reason__c"],
        "Sfrenew_Key__c = null AND Sfrenew_Prior_ARR__c != null")}
    assert history
    assert set(facts) == {o["Id"] for o in opps.values()} | set(history)
    assert all(facts[i].outcome is not Outcome.OPEN for i in history)
    w, lo = facts[won["Id"]], facts[lost["Id"]]
    assert (w.outcome, lo.outcome, lo.loss_reason) == (Outcome.WON, Outcome.LOST, "Competitor")
    assert w.prior_arr == Decimal(str(won["Sfrenew_Prior_ARR__c"]))
    assert w.uplift == Decimal(str(won["Sfrenew_Uplift_Amount__c"]))
    # won ARR from its lines as they closed: sfrenew's renewal ARR + the two units
    assert w.won_arr == Decimal(str(won["Sfrenew_Renewal_ARR__c"])) + upsell
    # an open renewal is due on its contract's end, which is sfrenew's close date
    assert all(f.due == f.close_date for f in read.facts if f.outcome is Outcome.OPEN)

    # in the org's corporate currency (USD) at its CurrencyType rates: nothing left out
    org_rates = {str(r["IsoCode"]): Decimal(str(r["ConversionRate"]))
                 for r in desk.gateway().read("CurrencyType", ["IsoCode", "ConversionRate"],
                                              "IsActive = true")}
    assert org_rates["USD"] == 1
    assert len(org_rates) >= 2
    figures = report_figures(desk.config)
    assert (figures.currency, figures.problems) == ("USD", [])

    def converted(rates: ConversionRates, target: str) -> Decimal:
        return sum((rates.convert(Decimal(str(o["Sfrenew_Prior_ARR__c"])),
                                  source=o["CurrencyIsoCode"], target=target, on=o["CloseDate"])
                    for o in [*opps.values(), *history.values()]), Decimal(0))

    decimals = dict(desk.config.rules.currencies)
    # with the org's dated rates (advanced currency management): each renewal at the
    # rate in force on its close date, which is not what the plain rates give
    dated = tuple(DatedRate(str(r["IsoCode"]), r["StartDate"], r["NextStartDate"] or date.max,
                            Decimal(str(r["ConversionRate"])))
                  for r in desk.gateway().read("DatedConversionRate", [
                      "IsoCode", "StartDate", "NextStartDate", "ConversionRate"]))
    assert dated
    in_usd = ConversionRates(rates=org_rates, dated=dated, decimals=decimals)
    assert sum(v["all"] for v in figures.atr.values()) == converted(in_usd, "USD")
    assert converted(in_usd, "USD") != converted(
        ConversionRates(rates=org_rates, decimals=decimals), "USD")
    churned = [o for o in history.values() if o["StageName"] == "Closed Lost"]
    assert sum(figures.churn_by_reason.values()) == Decimal(str(lost["Sfrenew_Prior_ARR__c"])) \
        + sum((in_usd.convert(Decimal(str(o["Sfrenew_Prior_ARR__c"])), source=o["CurrencyIsoCode"],
                           target="USD", on=o["CloseDate"]) for o in churned), Decimal(0))
    assert "Competitor" in figures.churn_by_reason
    # the two renewals the rep closed, whatever their months
    closed = retention(o for o in figures.outcomes if o.renewal_id in {won["Id"], lost["Id"]})
    assert (closed.expansion, closed.contraction) == (upsell, Decimal(0))
    assert closed.churn == Decimal(str(lost["Sfrenew_Prior_ARR__c"]))
    assert sum(b.count for b in figures.pipeline) == len(opps) - 2
    # the won renewal keeps its CloseDate (the contract's end): won on time
    today = desk.clock.today()
    assert timeliness(w, today=today, grace_days=14) == "on_time"
    assert timeliness(lo, today=today, grace_days=14) == "lost"
    assert sum(r.on_time + r.late + r.lost for r in figures.on_time.values()) == len(history) + 2

    # a rate given on the command line wins over the org's, dated ones too (the other
    # currencies keep theirs); another reporting currency
    override = {**org_rates, "EUR": Decimal("0.5")}
    eur = report_figures(desk.config, rates={"EUR": Decimal("0.5")})
    assert sum(v["all"] for v in eur.atr.values()) == converted(ConversionRates(
        rates=override, dated=tuple(r for r in dated if r.currency != "EUR"),
        decimals=decimals), "USD")
    in_eur = report_figures(desk.config, currency="EUR")
    assert in_eur.currency == "EUR"
    assert sum(v["all"] for v in in_eur.atr.values()) == converted(in_usd, "EUR")


def _config_file(desk: Desk, base: Path) -> str:
    """A config file for the command: the example's, on the desk's store and mapping."""
    document = yaml.safe_load((ROOT / "config.example.yaml").read_text(encoding="utf-8"))
    document.update(state_dir=str(desk.config.state_dir), mappings=str(desk.config.mapping_path),
                    store={"url": desk.config.store_url})
    path = base / "report-config.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return str(path)


def test_report_command_writes_the_page_and_json(desk: Desk, tmp_path: Path) -> None:
    assert desk.nightly().status == "succeeded"
    desk.run(RunRequest(job="analytics", steps=(Step.PULL,)))
    out = tmp_path / "out" / "report.html"
    config = _config_file(desk, tmp_path)
    page = CliRunner().invoke(main, ["report", "--config", config, "--out", str(out)])
    assert page.exit_code == 0, page.output
    assert f"report written: {out}" in page.output
    assert 'id="pipeline"' in out.read_text(encoding="utf-8")
    done = CliRunner().invoke(main, ["report", "--config", config, "--json", "--grain",
                                     "quarter"])
    assert done.exit_code == 0, done.output
    data = json.loads(done.output)
    assert (data["version"], data["currency"], data["grain"]) == (1, "USD", "quarter")
    assert sum(b["count"] for b in data["pipeline"]) == len(desk.ours("Opportunity", []))


@pytest.mark.parametrize(("args", "message"), [
    (["--rate", "EUR=abc"], "--rate 'EUR=abc': expected CODE=RATE with a positive rate"),
    (["--rate", "EUR=-1"], "--rate 'EUR=-1': expected CODE=RATE"),
    (["--currency", "CHF"], "no conversion rate for the reporting currency CHF"),
])
def test_report_command_bad_input(desk: Desk, tmp_path: Path, args: list[str],
                                  message: str) -> None:
    desk.run(RunRequest(job="analytics", steps=(Step.PULL,)))
    done = CliRunner().invoke(main, ["report", "--config", _config_file(desk, tmp_path),
                                     *args])
    assert done.exit_code == 2
    assert message in done.output
    assert "Traceback" not in done.output
