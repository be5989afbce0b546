"""The plan's table view shows org data as text, never as rich markup."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from sfrenew.cli.plan_view import render_table, shorten
from sfrenew.core.changeset import ChangeKind, FieldChange, RecordChange
from sfrenew.plan import AccountPlan, PlanHeader, RenewalSummary
from sfrenew.plan.model import write_account, write_header


def _plan(tmp_path: Path) -> Path:
    path = tmp_path / "plan.jsonl"
    account = AccountPlan(
        account_id="001A", account_name="Acme [/EMEA]",
        renewals=(RenewalSummary(key="k1", name="Acme [bold] renewal",
                                 start_date="2027-01-01", end_date="2027-12-31",
                                 amount="1200.00", currency="USD", risk="Low",
                                 forecast="Pipeline", contracts=("800A",), lines=1, tasks=0,
                                 explanation="uplift [red]5%[/red]"),),
        changes=(RecordChange(kind=ChangeKind.UPDATE, object="Opportunity", key="k1",
                              sf_id="006A", reason="price [/x] changed",
                              changes=(FieldChange("Description", "[i]old", "new [/i]"),
                                       FieldChange("Amount", Decimal("1"), Decimal("2")))),),
        skipped=({"contract_id": "800B", "reason": "missing_end_date",
                  "detail": "[/s] no end"},),
        routing=({"renewal": "Acme [bold] renewal", "role": "renewal_owner", "object": "User",
                  "record_id": "005B", "field": "IsActive",
                  "message": "renewal owner Ben [x] (005B) (the contract owner) is inactive; "
                             "assigned to the account owner Ana (005A)"},))
    with path.open("w", encoding="utf-8") as out:
        write_header(out, PlanHeader(run_id="r-1", created_at="2026-11-24T08:00:00+00:00",
                                     fingerprint="abc", today="2026-11-24", accounts=1))
        write_account(out, account)
    return path


def test_names_values_and_reasons_with_brackets_are_shown_as_written(tmp_path: Path) -> None:
    out = io.StringIO()
    render_table(_plan(tmp_path), Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    for shown in ("Acme [/EMEA]", "Acme [bold] renewal", "uplift [red]5%[/red]",
                  "price [/x] changed", "[i]old", "new [/i]", "[/s] no end",
                  "routing: Acme [bold] renewal: renewal owner Ben [x] (005B)",
                  "assigned to the account owner Ana (005A) (fix User 005B IsActive)"):
        assert shown in text, shown


def test_a_lapsed_renewal_says_how_overdue_it_is(tmp_path: Path) -> None:
    path = tmp_path / "plan.jsonl"
    lapsed = RenewalSummary(key="k1", name="Acme renewal", start_date="2026-03-10",
                            end_date="2027-03-09", amount="1200.00", currency="USD",
                            risk="Low", forecast="Pipeline", contracts=("800A",), lines=1,
                            tasks=5, explanation="OVERDUE: …", days_overdue=21)
    with path.open("w", encoding="utf-8") as out:
        write_header(out, PlanHeader(run_id="r-1", created_at="2026-03-30T08:00:00+00:00",
                                     fingerprint="abc", today="2026-03-30", accounts=1))
        write_account(out, AccountPlan(account_id="001A", account_name="Acme",
                                       renewals=(lapsed,), changes=()))
    text = io.StringIO()
    render_table(path, Console(file=text, width=200, color_system=None))
    assert "5 tasks, lapsed: 21 days overdue" in text.getvalue()


def test_an_adopted_renewal_names_the_persons_opportunity_and_how_it_was_chosen(
        tmp_path: Path) -> None:
    adopted = RenewalSummary(key="k1", name="Acme renewal", start_date="2026-04-01",
                             end_date="2027-03-31", amount="1200.00", currency="USD",
                             risk="Low", forecast="Pipeline", contracts=("800A",), lines=1,
                             tasks=3, explanation="A person opened this renewal; …",
                             adopted_opportunity="006P",
                             adoption="adopted opportunity 006P, … other candidates not "
                                      "adopted: 006Q")
    text = _render(tmp_path, AccountPlan(account_id="001A", account_name="Acme",
                                         renewals=(adopted,), changes=()))
    assert ("on 006P, a renewal a person made (adopted): sfrenew writes only its own fields "
            "and tasks there; adopted opportunity 006P, … other candidates not adopted: "
            "006Q") in " ".join(text.split())


def _render(tmp_path: Path, *accounts: AccountPlan) -> str:
    path = tmp_path / "plan.jsonl"
    with path.open("w", encoding="utf-8") as out:
        write_header(out, PlanHeader(run_id="r-1", created_at="2026-03-30T08:00:00+00:00",
                                     fingerprint="abc", today="2026-03-30",
                                     accounts=len(accounts)))
        for account in accounts:
            write_account(out, account)
    text = io.StringIO()
    render_table(path, Console(file=text, width=200, color_system=None))
    return text.getvalue()


def test_a_create_shows_the_values_it_writes(tmp_path: Path) -> None:
    create = RecordChange(kind=ChangeKind.CREATE, object="Opportunity", key="k1", sf_id=None,
                          reason="new renewal",
                          changes=(FieldChange("Name", None, "Acme renewal 2027"),
                                   FieldChange("Amount", None, Decimal("12600.00"))))
    text = _render(tmp_path, AccountPlan(account_id="001A", account_name="Acme",
                                         renewals=(), changes=(create,)))
    assert "2 fields" not in text  # was "13 fields" for a real renewal
    assert "Acme renewal 2027" in text
    assert "12600.00" in text
    assert "∅" not in text  # a create has no "now" value to show


def test_an_account_with_only_a_skip_prints_no_empty_table(tmp_path: Path) -> None:
    text = _render(tmp_path, AccountPlan(
        account_id="001A", account_name="Acme", renewals=(), changes=(),
        skipped=({"contract_id": "800B", "reason": "end_before_start", "detail": "fix"},)))
    assert "skipped contract 800B" in text
    assert "change   object" not in text  # the change table's empty header
    assert " planned " not in text.split("Acme (001A)")[1]


@pytest.mark.parametrize(("text", "shown"), [
    ("short", "short"),
    # 40 characters at most, cut after a whole word, with an ellipsis.
    ("Renewal of Platform and Support for Acme Corporation EMEA",
     "Renewal of Platform and Support for…"),
    ("x" * 50, "x" * 39 + "…"),  # one long word: cut where it must, still marked
])
def test_long_values_are_cut_at_a_word_with_an_ellipsis(text: str, shown: str) -> None:
    assert shorten(text) == shown


def test_a_bad_record_is_named_as_a_record_not_a_value(tmp_path: Path) -> None:
    text = _render(tmp_path, AccountPlan(
        account_id="001A", account_name="Acme", renewals=(), changes=(),
        problems=({"object": "task", "record_id": "00T2", "field": "",
                   "message": "duplicate task key 'k': task 00T1 has it too"},)))
    assert "  bad record: task 00T2: duplicate task key 'k': task 00T1 has it too" in text
