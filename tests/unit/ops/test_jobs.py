"""Job files: the shipped ones load; every mistake is reported at once with file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from sfrenew.jobs import JobSpec, find_job, load_jobs
from sfrenew.runner import Step
from sfrenew.yamlsource import YamlSourceError

SHIPPED = Path(__file__).resolve().parents[3] / "jobs"

VALID = """\
trigger:
  interval: {minutes: 15}
steps: [pull]
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(folder: Path) -> list[str]:
    with pytest.raises(YamlSourceError) as info:
        load_jobs(folder)
    return [str(e) for e in info.value.errors]


def test_shipped_jobs_load() -> None:
    jobs = {job.name: job for job in load_jobs(SHIPPED)}
    assert set(jobs) == {"sync", "renewals", "risk", "cadence", "analytics",
                         "backfill-example"}
    assert jobs["sync"].steps == (Step.PULL,)
    assert jobs["sync"].trigger.interval is not None
    assert jobs["renewals"].steps == (Step.PULL, Step.PLAN, Step.APPLY)
    assert jobs["renewals"].trigger.cron == "0 2 * * *"
    assert jobs["backfill-example"].enabled is False
    assert jobs["backfill-example"].trigger.date is not None
    assert jobs["risk"].request().rules == ("risk",)
    assert jobs["cadence"].request().rules == ("cadence",)
    assert jobs["renewals"].request().rules == ()
    assert jobs["analytics"].request().rules == ("analytics",)
    assert jobs["analytics"].steps == (Step.PULL, Step.PLAN, Step.APPLY)
    assert jobs["analytics"].trigger.cron == "0 5 * * mon"  # weekly: the snapshot's Monday


def test_name_defaults_to_the_file_stem(tmp_path: Path) -> None:
    write(tmp_path, "nightly.yaml", VALID)
    [job] = load_jobs(tmp_path)
    assert job.name == "nightly"
    assert job.params.misfire_grace_seconds > 0


# (file text, expected "LINE:COL: path: message" fragment) — one mistake kind each.
MISTAKES = [
    ("trigger:\n  interval: {minutes: 15}\nsteps: [pull]\ncolour: blue\n",
     "4:1: colour: unknown key"),
    ("trigger:\n  cron: \"0 25 * * *\"\nsteps: [pull]\n",
     "2:3: trigger.cron: cron '0 25 * * *'"),
    ("trigger:\n  cron: \"* * *\"\nsteps: [pull]\n",
     "2:3: trigger.cron: cron '* * *': Wrong number of fields"),
    ("trigger:\n  cron: \"0 2 * * 1\"\nsteps: [pull]\n",
     "2:3: trigger.cron: cron '0 2 * * 1': write the day of week as names"),
    ("trigger:\n  cron: \"0 2 * * *\"\n  timezone: Mars/Olympus\nsteps: [pull]\n",
     "3:3: trigger.timezone: unknown timezone 'Mars/Olympus'"),
    ("trigger:\n  interval: {minutes: 0}\nsteps: [pull]\n",
     "2:3: trigger.interval: an interval needs at least one"),
    ("trigger:\n  interval: {minutes: 5}\n  cron: \"0 2 * * *\"\nsteps: [pull]\n",
     "1:1: trigger: a trigger is exactly one of cron, interval or date (got cron, interval)"),
    ("trigger: {date: 2026-12-01 02:00:00}\nsteps: [pull]\n",
     "1:11: trigger.date: give the date its UTC offset"),
    ("trigger:\n  interval: {minutes: 5}\nsteps: [pull, push]\n",
     "3:15: steps[1]: Input should be 'pull', 'plan', 'apply' or 'report'"),
    ("trigger:\n  interval: {minutes: 5}\nsteps: [apply]\n",
     "3:1: steps: apply writes what plan decided"),
    ("trigger:\n  interval: {minutes: 5}\nsteps: [plan, pull]\n",
     "3:1: steps: steps run in the order pull, plan, apply, report"),
    ("trigger:\n  interval: {minutes: 5}\nsteps: [pull]\nparams:\n  horizon_days: \"30\"\n",
     "5:3: params.horizon_days: Input should be a valid integer"),
    ("trigger:\n  interval: {minutes: 5}\nsteps: [pull]\nparams:\n  max_api_calls: 0\n",
     "5:3: params.max_api_calls: Input should be greater than or equal to 1"),
    ("trigger:\n  interval: {minutes: 5}\nsteps: [pull]\nparams:\n  rules: [risk, pricing]\n",
     "5:17: params.rules[1]: Input should be 'renewals', 'risk', 'cadence' or 'analytics'"),
    ("name: Nightly Run\ntrigger:\n  interval: {minutes: 5}\nsteps: [pull]\n",
     "1:1: name: 'Nightly Run' is not a job name"),
    ("steps: [pull]\n", "1:1: trigger: Field required"),
    ("trigger: {interval: {minutes: 5}}\nsteps: [pull\n", "3:1: invalid YAML"),
    ("trigger: {interval: {minutes: 5}}\nsteps: [pull]\nsteps: [plan]\n",
     "3:1: duplicate key 'steps'"),
]


@pytest.mark.parametrize(("text", "expected"), MISTAKES, ids=[m[1] for m in MISTAKES])
def test_each_mistake_is_located(tmp_path: Path, text: str, expected: str) -> None:
    write(tmp_path / "jobs", "job.yaml", text)
    found = errors_of(tmp_path / "jobs")
    prefix = f"{tmp_path / 'jobs' / 'job.yaml'}:"
    assert any(e.startswith(prefix) and expected in e for e in found), found


def test_every_mistake_of_every_file_at_once(tmp_path: Path) -> None:
    folder = tmp_path / "jobs"
    write(folder, "a.yaml", "trigger:\n  cron: \"0 25 * * *\"\n  timezone: Nowhere/City\n"
                            "steps: [apply, apply]\nparams:\n  dry_run: 3\n  colour: x\n")
    write(folder, "b.yaml", "trigger:\n  interval: {minutes: 0}\nsteps: [pull]\n")
    write(folder, "c.yaml", VALID)
    found = errors_of(folder)
    where = [e.split(": ", 1)[0].rsplit("/", 1)[1] for e in found]
    assert where == ["a.yaml:2:3", "a.yaml:3:3", "a.yaml:4:1", "a.yaml:6:3", "a.yaml:7:3",
                     "b.yaml:2:3"]


def test_duplicate_names_across_files(tmp_path: Path) -> None:
    folder = tmp_path / "jobs"
    write(folder, "a.yaml", "name: nightly\n" + VALID)
    write(folder, "b.yaml", "name: nightly\n" + VALID)
    [error] = errors_of(folder)
    assert error.startswith(f"{folder / 'b.yaml'}:1:1: name: job name 'nightly' is already used")


def test_missing_folder(tmp_path: Path) -> None:
    [error] = errors_of(tmp_path / "nope")
    assert "no jobs folder" in error


def test_request_carries_params_and_dry_run_only_adds_safety(tmp_path: Path) -> None:
    write(tmp_path, "nightly.yaml", "trigger: {cron: '0 2 * * *', timezone: Europe/Paris}\n"
          "steps: [pull, plan, apply]\nparams:\n  horizon_days: 90\n  accounts: [001A]\n"
          "  max_api_calls: 500\n")
    jobs = load_jobs(tmp_path)
    job = find_job(jobs, "nightly")
    assert isinstance(job, JobSpec)
    request = job.request()
    assert (request.job, request.horizon_days, request.accounts, request.max_api_calls,
            request.dry_run) == ("nightly", 90, ("001A",), 500, False)
    assert job.request(dry_run=True).dry_run is True
    assert find_job(jobs, "other") is None


def test_trigger_descriptions(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "trigger: {interval: {hours: 1, minutes: 30}}\nsteps: [pull]\n")
    write(tmp_path, "b.yaml", "trigger: {date: 2026-12-01T02:00:00+00:00}\nsteps: [pull]\n")
    a, b = load_jobs(tmp_path)
    assert a.trigger.describe() == "every 1h30m"
    assert b.trigger.describe() == "once at 2026-12-01T02:00:00+00:00"
