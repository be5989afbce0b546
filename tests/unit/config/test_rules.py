"""The rules: config section: the example loads, mistakes are all reported with file:line."""

from decimal import Decimal
from pathlib import Path

import pytest

from sfrenew.config.rules import RulesModel, load_rules, loads_rules
from sfrenew.core.domain import RiskLevel
from sfrenew.core.policy import (
    AnchorPolicy,
    ContractualUplift,
    ForecastCategory,
    LapseEscalation,
    LapsePolicy,
    OwnerTableRow,
    PastDuePolicy,
    PricingMethod,
    ProrationMethod,
    RulesPolicy,
    SignalName,
    TaskPriority,
    TermCompatibility,
)
from sfrenew.yamlsource import YamlSourceError

EXAMPLE = Path(__file__).parents[3] / "config.example.yaml"


def test_the_example_config_loads_and_means_what_it_says() -> None:
    policy = load_rules(EXAMPLE)
    assert policy.eligibility.statuses == frozenset({"Activated"})
    assert policy.currencies["JPY"] == 0
    assert policy.coterm.anchor is AnchorPolicy.EARLIEST
    assert policy.proration is ProrationMethod.MONTH_DAY
    assert policy.uplift.pricing is PricingMethod.UPLIFT
    assert policy.uplift.cap == Decimal("0.10")
    assert [r.name for r in policy.uplift.rules][-1] == "Everything else"
    assert policy.uplift.rules[-1].is_catch_all
    assert policy.uplift.index_formula is not None
    assert policy.uplift.index_values["cpi"] == Decimal("0.031")
    assert policy.uplift.risk_adjustments[RiskLevel.HIGH].max_rate == Decimal(0)
    assert sum(s.points for s in policy.risk.signals) == 100
    assert {s.name for s in policy.risk.signals} == set(SignalName)
    assert policy.cadence.past_due is PastDuePolicy.DUE_TODAY
    assert [s.name for s in policy.cadence.steps if s.high_risk_only] == ["executive_sponsor"]
    assert policy.forecast.risk_caps[RiskLevel.HIGH] is ForecastCategory.BEST_CASE


def test_no_rules_section_means_every_default() -> None:
    assert loads_rules("salesforce:\n  target: local\n") == RulesPolicy()
    assert loads_rules("") == RulesPolicy()


BROKEN = """\
salesforce:
  target: local
rules:
  eligibility:
    horizon_dayz: 10
  coterm:
    anchor: middle
    calendar: {month: 2, day: 30}
  uplift:
    rules:
      - name: hw
        when: {product_family: Hardware}
        rate: lots
    index:
      formula: max(floor, cpi +)
  risk:
    signals:
      champion_gone: {points: 40}
      usage_decline: {points: 50}
  cadence:
    steps:
      - name: kickoff
        days_before: 120
        subject: 'Hi {acount}'
  forecast:
    risk_caps: {High: Commit}
  currencies: {usd: 2, JPY: 9}
"""


def test_every_mistake_is_reported_at_once_with_file_and_line() -> None:
    with pytest.raises(YamlSourceError) as caught:
        loads_rules(BROKEN, file="config.yaml")
    messages = str(caught.value).splitlines()
    expected = [
        ("config.yaml:5:5: rules.eligibility.horizon_dayz:", "unknown key"),
        ("config.yaml:7:5: rules.coterm.anchor:", "'earliest', 'latest', 'largest'"),
        ("config.yaml:8:5: rules.coterm.calendar:", "month 2 has no day 30"),
        ("config.yaml:13:9: rules.uplift.rules[0].rate:", "valid decimal"),
        ("config.yaml:15:7: rules.uplift.index.formula:", "invalid formula"),
        ("config.yaml:17:5: rules.risk.signals:", "add up to 90; they must add up to 100"),
        ("config.yaml:24:9: rules.cadence.steps[0].subject:", "unknown placeholder {acount}"),
        ("config.yaml:25:3: rules.forecast:", "High risk is never Commit"),
        ("config.yaml:27:24: rules.currencies.JPY:", "less than or equal to 4"),
    ]
    for where, what in expected:
        assert any(m.startswith(where) and what in m for m in messages), (where, messages)
    assert any(m.startswith("config.yaml:27:16: rules.currencies.usd") for m in messages)
    assert len(messages) == len(expected) + 1


@pytest.mark.parametrize(("uplift", "message"), [
    ("{cap: 0.03, floor: 0.05}", "floor 0.05 is above cap 0.03"),
    ("{rules: [{name: all, rate: 0.05}, {name: hw, when: {region: EMEA}, rate: 0.02}]}",
     "matches every line"),
    ("{rules: [{name: a, when: {region: X}, rate: 0.05}, {name: a, rate: 0.02}]}",
     "unique: a"),
    ("{index: {formula: 'max(cap, rate)'}}", "uses cap, but no cap"),
    ("{index: {formula: 'cpi + 1'}}", "formula uses cpi"),
    ("{pricing: cheapest}", "'same', 'uplift' or 'list'"),
    ("{default_rate: 11}", "11 is 1100%; rates are fractions (0.05 is 5%): did you mean 0.11?"),
    ("{risk_adjustment: {Severe: {max_rate: 0}}}", "'Low', 'Medium' or 'High'"),
])
def test_uplift_mistakes(uplift: str, message: str) -> None:
    with pytest.raises(YamlSourceError, match=r"config.yaml:3:\d+: rules.uplift") as caught:
        loads_rules(f"rules:\n  x: 1\n  uplift: {uplift}\n", file="config.yaml")
    text = str(caught.value)
    assert message in text
    assert "config.yaml:2:3: rules.x: unknown key" in text  # reported together


@pytest.mark.parametrize(("section", "message"), [
    ("risk: {thresholds: {medium: 70, high: 60}}", "medium (70) must not be above high (60)"),
    ("cadence: {steps: [{name: a, days_before: 1, subject: x}, "
     "{name: a, days_before: 2, subject: y}]}", "step names must be unique"),
    ("cadence: {steps: [{name: Kick Off, days_before: 1, subject: x}]}", "should match pattern"),
    ("cadence: {past_due: later}", "'skip' or 'due_today'"),
    ("opportunity: {name: '{account} {step}'}", "unknown placeholder {step}"),
    ("proration: {method: weekly}",
     "'day', 'month', 'month_day', 'actual_period', '30_360' or 'cpq_monthly_daily'"),
    ("eligibility: {statuses: []}", "at least 1 item"),
    ("lapse: {grace_days: -1}", "greater than or equal to 0"),
    ("lapse: {escalation: {subject: 'Late {days}'}}", "unknown placeholder {days}"),
    ("lapse: {escalation: {name: Late}}", "should match pattern"),
    ("lapse: {graceDays: 3}", "unknown key"),
    ("currencies: {}", "at least 1 item"),
])
def test_other_mistakes(section: str, message: str) -> None:
    with pytest.raises(YamlSourceError) as caught:
        loads_rules(f"rules:\n  {section}\n", file="c.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("c.yaml:2:")


def test_yaml_syntax_errors_are_located() -> None:
    with pytest.raises(YamlSourceError, match=r"c.yaml:2:\d+: invalid YAML"):
        loads_rules("rules:\n  uplift: [1, }\n", file="c.yaml")


def test_json_schema_is_available_for_editors() -> None:
    schema = RulesModel.model_json_schema()
    assert schema["additionalProperties"] is False
    assert "uplift" in schema["properties"]


def test_contractual_uplift_and_compounding_knobs() -> None:
    example = load_rules(EXAMPLE).uplift
    assert example.contractual == ContractualUplift()  # a contractual rate is a commitment
    assert example.compound_multi_year is None  # auto
    policy = loads_rules("rules:\n  uplift:\n    compound_multi_year: false\n"
                         "    contractual: {index: true, risk: true}\n").uplift
    assert policy.contractual == ContractualUplift(index=True, policy_bounds=False, risk=True)
    assert policy.compound_multi_year is False
    assert loads_rules("rules: {uplift: {compound_multi_year: true}}").uplift \
        .compound_multi_year is True


@pytest.mark.parametrize(("text", "where"), [
    ("rules:\n  uplift:\n    contractual: {indx: true}\n", "<config>:3:"),
    ("rules:\n  uplift:\n    compound_multi_year: sometimes\n", "<config>:3:"),
])
def test_uplift_knob_mistakes_point_at_the_line(text: str, where: str) -> None:
    with pytest.raises(YamlSourceError) as caught:
        loads_rules(text)
    assert where in str(caught.value)


def test_co_term_and_self_renewing_knobs_load_and_default() -> None:
    default = load_rules(EXAMPLE)
    assert (default.eligibility.min_term_months, default.eligibility.renew_evergreen) == (3, False)
    assert default.coterm.term_compatibility is TermCompatibility.SAME_TERM
    assert default.coterm.allow_term_change is False
    policy = loads_rules("""
rules:
  eligibility: {min_term_months: 1, renew_evergreen: true}
  coterm: {term_compatibility: any, allow_term_change: true}
""")
    assert (policy.eligibility.min_term_months, policy.eligibility.renew_evergreen) == (1, True)
    assert policy.coterm.term_compatibility is TermCompatibility.ANY
    assert policy.coterm.allow_term_change is True


def test_co_term_and_self_renewing_knob_mistakes_say_where() -> None:
    with pytest.raises(YamlSourceError) as caught:
        loads_rules("""
rules:
  eligibility:
    min_term_months: 0
  coterm:
    term_compatibility: similar
""", file="config.yaml")
    messages = str(caught.value).splitlines()
    assert any(m.startswith("config.yaml:4:5: rules.eligibility.min_term_months:")
               and "greater than or equal to 1" in m for m in messages), messages
    assert any(m.startswith("config.yaml:6:5: rules.coterm.term_compatibility:")
               and "'same_term' or 'any'" in m for m in messages), messages


_SIGNALS = ("low_health_score: {points: 20, below: 60}, "
            "open_high_severity_cases: {points: 15, at_least: 1}, "
            "no_recent_activity: {points: 10, days: 60}, champion_gone: {points: 15}, "
            "late_previous_renewal: {points: 5, days: 1}, "
            "payment_overdue: {points: 10, days: 30}, large_uplift: {points: 10, rate: 0.07}, ")


def test_usage_decline_is_a_fraction_like_every_rate() -> None:
    policy = loads_rules(f"rules:\n  risk: {{signals: {{{_SIGNALS}"
                         "usage_decline: {points: 15, decline: 0.25}}}\n", file="c.yaml")
    (usage,) = [s for s in policy.risk.signals if s.name.value == "usage_decline"]
    assert usage.threshold == Decimal("0.25")
    for old in ("percent: 20", "decline: 20"):  # the old key, and a percent as a number
        with pytest.raises(YamlSourceError) as caught:
            loads_rules(f"rules:\n  risk: {{signals: {{{_SIGNALS}"
                        f"usage_decline: {{points: 15, {old}}}}}}}\n", file="c.yaml")
        assert str(caught.value).startswith("c.yaml:2:")


def test_adoption_window_loads_defaults_and_mistakes_say_where() -> None:
    assert RulesPolicy().adoption.close_date_window_days == 45
    assert load_rules(EXAMPLE).adoption.close_date_window_days == 45
    policy = loads_rules("rules:\n  adoption:\n    close_date_window_days: 10\n",
                         file="config.yaml")
    assert policy.adoption.close_date_window_days == 10
    with pytest.raises(YamlSourceError) as caught:
        loads_rules("""
rules:
  adoption:
    close_date_window_days: -1
    window: 3
""", file="config.yaml")
    messages = str(caught.value).splitlines()
    assert any(m.startswith("config.yaml:4:5: rules.adoption.close_date_window_days:")
               and "greater than or equal to 0" in m for m in messages), messages
    assert any(m.startswith("config.yaml:5:5: rules.adoption.window:") for m in messages), \
        messages


def test_owner_rules_load_into_the_policy() -> None:
    policy = loads_rules("""rules:
  owners:
    renewal_owner: table
    renewal_manager: account_field:renewal_manager
    account_executive: account_field:account_executive
    table:
      - {segment: Enterprise, region: EMEA, user: 005000000000001AAA}
      - {user: '005000000000002'}
  cadence:
    steps:
      - {name: kickoff, days_before: 90, subject: "Kickoff {account}", assignee: renewal_manager,
         instructions: call the customer}
""")
    owners = policy.owners
    assert (owners.renewal_owner, owners.renewal_manager, owners.account_executive) == (
        "table", "account_field:renewal_manager", "account_field:account_executive")
    assert owners.table[0] == OwnerTableRow("005000000000001AAA", "Enterprise", "EMEA")
    assert owners.table[1] == OwnerTableRow("005000000000002")
    (step,) = policy.cadence.steps
    assert (step.assignee_role, step.instructions) == ("renewal_manager", "call the customer")


@pytest.mark.parametrize(("section", "where", "message"), [
    ("owners: {renewal_owner: territory}", "c.yaml:2:12: rules.owners.renewal_owner",
     "unknown rule 'territory' (choose one of: account_owner, contract_owner, table, "
     "account_field:<field>)"),
    ("owners: {renewal_manager: 'account_field:segment'}",
     "c.yaml:2:12: rules.owners.renewal_manager", "unknown account field 'segment'"),
    ("owners: {renewal_owner: table}", "c.yaml:2:3: rules.owners",
     "renewal_owner: table needs a non-empty table"),
    ("owners: {table: [{user: bob}]}", "c.yaml:2:21: rules.owners.table[0].user",
     "'bob' is not a User Id"),
    ("owners: {renewal_owner: account_owner, region_table: []}",
     "c.yaml:2:42: rules.owners.region_table", "unknown key"),
    ("cadence: {steps: [{name: a, days_before: 1, subject: s, assignee: boss}]}",
     "c.yaml:2:59: rules.cadence.steps[0].assignee",
     "'renewal_owner', 'renewal_manager' or 'account_executive'"),
])
def test_owner_mistakes_are_located(section: str, where: str, message: str) -> None:
    with pytest.raises(YamlSourceError) as caught:
        loads_rules(f"rules:\n  {section}\n", file="c.yaml")
    text = str(caught.value)
    assert where in text, text
    assert message in text, text
def test_lapse_knobs_load_and_default() -> None:
    assert load_rules(EXAMPLE).lapse == LapsePolicy() == RulesPolicy().lapse
    assert LapsePolicy().grace_days == 14
    policy = loads_rules("""
rules:
  lapse:
    grace_days: 7
    escalation: {name: lapsed, subject: "Lapsed since {contract_end}: {account}",
                 priority: Normal, assignee: account_executive}
""").lapse
    assert policy == LapsePolicy(7, LapseEscalation(
        "lapsed", "Lapsed since {contract_end}: {account}", TaskPriority.NORMAL,
        "account_executive"))
    assert loads_rules("rules: {lapse: {escalation: null}}").lapse.escalation is None


def test_the_escalation_must_not_share_a_cadence_steps_name() -> None:
    with pytest.raises(YamlSourceError) as caught:
        loads_rules("rules:\n  lapse:\n    escalation: {name: escalation}\n", file="c.yaml")
    assert "lapse.escalation.name 'escalation' is also a cadence step's name" in str(
        caught.value)
    # a step list without that name frees it
    policy = loads_rules("rules:\n  cadence: {steps: [{name: kickoff, days_before: 90, "
                         "subject: x}]}\n  lapse: {escalation: {name: escalation}}\n")
    assert policy.lapse.escalation is not None


@pytest.mark.parametrize(("text", "where", "meant"), [
    # 5 typed for 5 %: refused, 5 × 100 = 500 %, 5 / 100 = 0.05 meant.
    ("rules:\n  uplift:\n    default_rate: 5\n", "c.yaml:3:5: rules.uplift.default_rate",
     "5 is 500%; rates are fractions (0.05 is 5%): did you mean 0.05?"),
    ("rules:\n  uplift:\n    cap: 7.5\n", "c.yaml:3:5: rules.uplift.cap",
     "did you mean 0.075?"),
    ("rules:\n  uplift:\n    index:\n      formula: cpi\n      values: {cpi: 3.1}\n",
     "c.yaml:5:16: rules.uplift.index.values.cpi", "did you mean 0.031?"),
    ("rules:\n  uplift:\n    risk_adjustment:\n      High: {max_rate: -2}\n",
     "c.yaml:4:14: rules.uplift.risk_adjustment.High.max_rate", "did you mean -0.02?"),
])
def test_a_rate_typed_as_a_percentage_is_refused_with_the_fraction(
        text: str, where: str, meant: str) -> None:
    with pytest.raises(YamlSourceError) as exc:
        loads_rules(text, file="c.yaml")
    said = str(exc.value)
    assert said.startswith(where), said
    assert meant in said


def test_a_rate_of_exactly_one_hundred_percent_is_allowed() -> None:
    assert loads_rules("rules:\n  uplift:\n    cap: 1\n").uplift.cap == Decimal(1)


@pytest.mark.parametrize(("text", "said"), [
    ("rules:\n  uplift:\n    defualt_rate: 0.05\n",
     "c.yaml:3:5: rules.uplift.defualt_rate: unknown key (did you mean 'default_rate'?)"),
    ("rules:\n  uplfit: {}\n", "c.yaml:2:3: rules.uplfit: unknown key (did you mean 'uplift'?)"),
    ("rules:\n  uplift:\n    risk_adjustment:\n      High: {max_rat: 0}\n",
     "rules.uplift.risk_adjustment.High.max_rat: unknown key (did you mean 'max_rate'?)"),
    ("rules:\n  uplift:\n    zzz: 1\n",
     "rules.uplift.zzz: unknown key (check the spelling; see docs/rules.md §11)"),
])
def test_an_unknown_key_suggests_the_closest_allowed_one(text: str, said: str) -> None:
    with pytest.raises(YamlSourceError) as exc:
        loads_rules(text, file="c.yaml")
    assert said in str(exc.value)
