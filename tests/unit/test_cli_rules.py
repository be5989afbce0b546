"""``sfrenew rules prorate|uplift|check|schema``."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sfrenew.cli.rules import rules

EXAMPLE = Path(__file__).parents[2] / "config.example.yaml"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(rules, list(args))
    return result.exit_code, result.output


WORKED = ("prorate", "--price", "12000", "--start", "2023-10-15", "--end", "2024-06-30")


def test_prorate_shows_every_method_of_the_worked_example() -> None:
    code, out = _run(*WORKED)
    assert code == 0, out
    for amount in ["8,547.95", "9,000.00", "8,558.90", "8,548.39", "8,566.67", "8,526.03"]:
        assert amount in out


@pytest.mark.parametrize(("method", "amount", "fraction"), [
    ("day", "8547.95", "260/365"), ("month", "9000.00", "9/12"),
    ("month_day", "8558.90", "8/12 + 17/365"), ("actual_period", "8548.39", "(8 + 17/31)/12"),
    ("30_360", "8566.67", "(8 + 17/30)/12"),
    ("cpq_monthly_daily", "8526.03", "8/12 + 16/365"),  # months from the start (CPQ)
])
def test_prorate_json(method: str, amount: str, fraction: str) -> None:
    code, out = _run(*WORKED, "--method", method, "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["days"] == 260
    assert data["results"] == [{
        "method": method, "fraction": fraction, "fraction_decimal": data["results"][0][
            "fraction_decimal"], "whole_months": data["results"][0]["whole_months"],
        "stub_days": data["results"][0]["stub_days"], "amount": amount,
        "total": amount}]  # one unit: the total is the unit price


def test_prorate_in_yen_has_no_decimals() -> None:
    code, out = _run(*WORKED, "--method", "day", "--currency", "JPY", "--json")
    assert code == 0, out
    assert json.loads(out)["results"][0]["amount"] == "8548"


@pytest.mark.parametrize(("args", "option", "message"), [
    (("--price", "abc"), "'--price'", "is not a number"),
    (("--price", "-1"), "'--price'", "must not be negative"),
    (("--end", "2023-01-01"), "'--end'", "is before --start"),
    (("--start", "15/10/2023"), "'--start'", "YYYY-MM-DD"),
    (("--method", "weekly"), "'--method'", "weekly"),
    (("--currency", "XXX"), "'--currency'", "unknown currency"),
])
def test_prorate_bad_input_names_the_option(args: tuple[str, ...], option: str,
                                            message: str) -> None:
    base = {"--price": "12000", "--start": "2023-10-15", "--end": "2024-06-30"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    code, out = _run("prorate", *(x for kv in base.items() for x in kv))
    assert code == 2
    assert option in out
    assert message in out


def test_uplift_with_index_cap_and_compounding() -> None:
    code, out = _run("uplift", "--price", "1000", "--rate", "0.08", "--cap", "0.06",
                     "--floor", "0.02", "--index", "max(floor, cpi + spread)", "--cpi", "0.031",
                     "--spread", "0.01", "--years", "3", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert (data["rate"], data["index_rate"], data["bound"]) == ("0.041", "0.041", None)
    assert data["yearly_prices"] == ["1041.00", "1083.68", "1128.11"]


@pytest.mark.parametrize(("args", "rate", "bound", "prices"), [
    (("--cap", "0.04"), "0.04", "cap", ["1040.00"]),
    (("--floor", "0.1"), "0.1", "floor", ["1100.00"]),
    (("--risk", "High", "--risk-max-rate", "0"), "0", None, ["1000.00"]),
    (("--risk", "High", "--risk-max-rate", "0", "--floor", "0.01"), "0.01", "floor",
     ["1010.00"]),
    (("--method", "same"), "0.05", None, ["1000.00"]),
    (("--method", "list", "--list-price", "1200"), "0.05", None, ["1200.00"]),
    (("--years", "2", "--no-compound"), "0.05", None, ["1050.00", "1050.00"]),
    (("--currency", "JPY"), "0.05", None, ["1050"]),
])
def test_uplift_table(args: tuple[str, ...], rate: str, bound: str | None,
                      prices: list[str]) -> None:
    code, out = _run("uplift", "--price", "1000", "--rate", "0.05", *args, "--json")
    assert code == 0, out
    data = json.loads(out)
    assert (data["rate"], data["bound"], data["yearly_prices"]) == (rate, bound, prices)


def test_uplift_text_output() -> None:
    code, out = _run("uplift", "--price", "1000", "--rate", "0.09", "--cap", "0.07")
    assert code == 0, out
    assert "rate: 7% (given 9%, from default)" in out
    assert "how: 9% from the default uplift, capped at 7% (policy cap)" in out
    assert "bound fired: cap" in out
    assert "year 1: 1,070.00 USD" in out


@pytest.mark.parametrize(("args", "option", "message"), [
    (("--rate", "x"), "'--rate'", "is not a number"),
    (("--cap", "0.01", "--floor", "0.02"), "'--floor'", "above --cap"),
    (("--method", "list"), "'--list-price'", "needs the price book price"),
    (("--index", "max(floor,"), "'--index'", "found the end"),
    (("--index", "cpi + 1"), "'--index'", "needs cpi"),
    (("--years", "0"), "'--years'", "0"),
    (("--risk", "Severe"), "'--risk'", "Severe"),
])
def test_uplift_bad_input_names_the_option(args: tuple[str, ...], option: str,
                                           message: str) -> None:
    code, out = _run("uplift", "--price", "1000", "--rate", "0.05", *args)
    assert code == 2
    assert option in out
    assert message in out


def test_check_reports_every_mistake(tmp_path: Path) -> None:
    assert _run("check", "--config", str(EXAMPLE)) == (0, f"{EXAMPLE}: rules are valid\n")
    bad = tmp_path / "config.yaml"
    bad.write_text("rules:\n  coterm: {anchor: middle}\n  uplift: {cap: lots}\n",
                   encoding="utf-8")
    result = CliRunner().invoke(rules, ["check", "--config", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:2:" in result.output
    assert f"{bad}:3:" in result.output


def test_schema_is_json() -> None:
    code, out = _run("schema")
    assert code == 0
    assert json.loads(out)["title"] == "RulesModel"


@pytest.mark.parametrize(("args", "rate", "overrides"), [
    # config.example.yaml: a contract's 7% is a commitment (no index formula, policy cap
    # or risk adjustment): 7% → 1,070.00
    (("--rate", "0.07", "--source", "contract"), "0.07", False),
    (("--rate", "0.07", "--source", "contract", "--risk", "High"), "0.07", False),
    (("--rate", "0.12", "--source", "line"), "0.12", False),  # above the 10% policy cap
    (("--rate", "0.12", "--source", "line", "--contract-cap", "0.08"), "0.08", False),
    # a rule's 6%: max(0, min(6%, 3.1% + 1%)) = 4.1% → 1,041.00; High risk: 0%
    (("--rate", "0.06", "--source", "rule"), "0.041", False),
    (("--rate", "0.06", "--source", "rule", "--risk", "High"), "0.0", False),
    # the policy lets a step change contractual rates: it does, and asks approval
    (("--rate", "0.07", "--source", "contract", "--contractual", "index"), "0.041", True),
    (("--rate", "0.12", "--source", "contract", "--contractual", "policy_bounds"), "0.1",
     True),
    (("--rate", "0.07", "--source", "contract", "--contractual", "risk", "--risk", "High"),
     "0.0", True),
])
def test_uplift_precedence_with_the_example_config(args: tuple[str, ...], rate: str,
                                                   overrides: bool) -> None:
    code, out = _run("uplift", "--config", str(EXAMPLE), "--price", "1000", *args, "--json")
    assert code == 0, out
    data = json.loads(out)
    assert (data["rate"], data["overrides_contract"]) == (rate, overrides)


@pytest.mark.parametrize(("method", "prices", "note"), [
    # the account's CPQ Renewal Pricing Method, 3 years at 5%: CPQ uplifts once (auto)
    ("same", ["1000.00", "1000.00", "1000.00"], "Same"),
    ("uplift", ["1050.00", "1050.00", "1050.00"], "Uplift"),
    ("list", ["1200.00", "1200.00", "1200.00"], "List"),
])
def test_uplift_account_method(method: str, prices: list[str], note: str) -> None:
    code, out = _run("uplift", "--config", str(EXAMPLE), "--price", "1000", "--rate", "0.05",
                     "--source", "contract", "--account-method", method, "--list-price",
                     "1200", "--years", "3", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert (data["pricing"], data["yearly_prices"], data["compound"]) == (method, prices, False)
    assert data["pricing_note"] == f"priced by the account's Renewal Pricing Method: {note}"


def test_uplift_bad_config_names_the_option(tmp_path: Path) -> None:
    bad = tmp_path / "config.yaml"
    bad.write_text("rules:\n  uplift: {contractual: {indx: true}}\n", encoding="utf-8")
    code, out = _run("uplift", "--config", str(bad), "--price", "1000", "--rate", "0.05")
    assert code == 2
    assert "'--config'" in out
    assert f"{bad}:2:" in out


def test_coterm_keeps_a_multi_year_and_an_annual_contract_apart() -> None:
    code, out = _run("coterm", "--contract", "C1:2027-03-31:12", "--contract",
                     "C2:2027-05-10:36", "--json")
    assert code == 0, out
    data = json.loads(out)
    # two renewals, each its full term: 2027-04-01 + 12 months - 1 day, 2027-05-11 + 36 - 1
    assert [(g["start"], g["end"], g["length"], g["needs_approval"]) for g in data["renewals"]] \
        == [("2027-04-01", "2028-03-31", "12 months", False),
            ("2027-05-11", "2030-05-10", "36 months", False)]


def test_coterm_shows_the_stub_of_a_later_annual_contract_and_skips_a_monthly_one() -> None:
    code, out = _run("coterm", "--contract", "C1:2027-03-31:12", "--contract",
                     "C2:2027-05-10:12", "--contract", "M:2027-04-10:1")
    assert code == 0, out
    # C2 starts 2027-05-11 and ends with C1 on 2028-03-31, 40 days before 2028-05-10
    assert "C2: 2027-05-11 to 2028-03-31 = 10 months and 21 days" in out
    assert "stub: 40 days shorter" in out
    assert "not renewed: M (1-month term is below --min-term 3" in out


def test_coterm_term_change_needs_approval() -> None:
    code, out = _run("coterm", "--contract", "C1:2027-03-31:12", "--contract",
                     "C2:2027-05-10:36", "--terms", "any", "--allow-term-change", "--json")
    assert code == 0, out
    (group,) = json.loads(out)["renewals"]
    assert group["needs_approval"] is True
    # 2030-05-10 → 2028-03-31: 770 days shorter
    assert group["lines"][1]["shift_days"] == -770
    assert group["approval_reasons"] == [
        "the 36-month term of contract C2 is shortened to 10 months and 21 days (2027-05-11 "
        "to 2028-03-31 instead of 2030-05-10) to co-term with contract C1"]


@pytest.mark.parametrize(("args", "message"), [
    (("--contract", "C1:2027-03-31"), "is not ID:END_DATE:TERM_MONTHS"),
    (("--contract", ":2027-03-31:12"), "is not ID:END_DATE:TERM_MONTHS"),
    (("--contract", "C1:2027-02-30:12"), "is not an end date as YYYY-MM-DD"),
    (("--contract", "C1:2027-03-31:0"), "is not a term of 1 or more months"),
    (("--contract", "C1:2027-03-31:12:-5"), "must not be negative"),
    (("--contract", "C1:2027-03-31:12:abc"), "is not a number"),
    (("--contract", "C1:2027-03-31:12", "--contract", "C1:2027-04-30:12"),
     "given more than once"),
    (("--contract", "C1:2027-03-31:12", "--calendar", "02-30"), "is not a month and day"),
    ((), "Missing option '--contract'"),
])
def test_coterm_usage_errors(args: tuple[str, ...], message: str) -> None:
    code, out = _run("coterm", *args)
    assert code == 2
    assert message in out


def test_prorate_with_a_quantity_shows_the_line_total() -> None:
    """10 units at 1,260.00 a year for 2024-04-21..2025-03-31 (month_day): UnitPrice
    1,260 × (11/12 + 10/365) = 1,189.5205… → 1,189.52; total 10 × 1,189.52 = 11,895.20."""
    code, out = _run("prorate", "--price", "1260", "--start", "2024-04-21", "--end",
                     "2025-03-31", "--method", "month_day", "--quantity", "10", "--json")
    assert code == 0
    (result,) = json.loads(out)["results"]
    assert (result["amount"], result["total"]) == ("1189.52", "11895.20")
    code, out = _run("prorate", "--price", "1260", "--start", "2024-04-21", "--end",
                     "2025-03-31", "--method", "month_day", "--quantity", "10")
    assert "11,895.20" in out
    assert "total (× 10)" in out


@pytest.mark.parametrize(("args", "renewing", "notes"), [
    # a downsell amendment: 100 − 20 = 80 units at 1,200 a year
    (("--line", "Platform:100:1200", "--line", "Platform:-20:1200"),
     [("Platform", "80", "1200")], ["Platform: quantity 100 − 20 (amendment) = 80"]),
    # an add-on ended before the contract's end does not renew
    (("--line", "Platform:10:1200", "--line", "Support:5:300:end=2026-12-31"),
     [("Platform", "10", "1200")],
     ["Support × 5 ended 2026-12-31, before the contract's end (2027-03-31); not renewed"]),
    # CPQ term prices: 3,600 for a 36-month subscription (multiplier 3) is 1,200 a year
    (("--basis", "term", "--line", "Platform:10:3600:multiplier=3"),
     [("Platform", "10", "1200")], []),
    # a product amended down to nothing renews nothing
    (("--line", "Platform:10:1200", "--line", "Platform:-10:1200"), [],
     ["Platform: quantity 10 − 10 (amendment) = 0; nothing left to renew, so it is not "
      "renewed"]),
])
def test_lines_nets_amendments_and_reads_prices_on_their_basis(
        args: tuple[str, ...], renewing: list[tuple[str, str, str]], notes: list[str]) -> None:
    code, out = _run("lines", "--contract-end", "2027-03-31", *args, "--json")
    assert code == 0, out
    data = json.loads(out)
    assert [(r["product"], r["quantity"], r["annual_price"]) for r in data["renewing"]] == \
        renewing
    assert [n["text"] for n in data["notes"]] == notes


@pytest.mark.parametrize(("line", "says"), [
    ("Platform", "is not PRODUCT:QUANTITY:PRICE"),
    ("Platform:x:1200", "'x' is not a number"),
    ("Platform:1:-5", "the price must not be negative"),
    ("Platform:1:1200:colour=red", "'colour=red' is not one of"),
    ("Platform:1:1200:end=tomorrow", "tomorrow"),
])
def test_lines_usage_errors_name_the_part(line: str, says: str) -> None:
    code, out = _run("lines", "--contract-end", "2027-03-31", "--line", line)
    assert code == 2
    assert says in out


def test_lines_refuses_a_term_price_without_a_usable_multiplier() -> None:
    code, out = _run("lines", "--contract-end", "2027-03-31", "--basis", "term",
                     "--line", "Platform:1:3600:multiplier=0")
    assert code == 2
    assert "prorate multiplier 0 must be above zero" in out


@pytest.mark.parametrize(("option", "value", "meant"), [
    ("--rate", "5", "0.05"), ("--cap", "7", "0.07"), ("--cpi", "3.1", "0.031"),
    ("--risk-max-rate", "-150", "-1.5"),
])
def test_uplift_refuses_a_percentage_typed_as_a_rate(option: str, value: str,
                                                     meant: str) -> None:
    args = ["uplift", "--price", "100", "--rate", "0.05", option, value]
    if option == "--risk-max-rate":
        args += ["--risk", "High"]
    code, out = _run(*args)
    assert code == 2
    assert f"Invalid value for '{option}'" in out
    assert f"did you mean {meant}?" in out
    assert "--force" in out


def test_uplift_force_takes_a_rate_above_one_hundred_percent() -> None:
    # 100 × (1 + 1.5) = 250.00
    code, out = _run("uplift", "--price", "100", "--rate", "1.5", "--force")
    assert code == 0, out
    assert "250.00" in out
