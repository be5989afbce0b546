"""Job specs: ``jobs/*.yaml``, one job a file, loaded strictly.

A job is a trigger (cron with a timezone, an interval, or one date), the steps of a
run (pull, plan, apply, report) and the run's parameters. Every mistake in every
file is reported at once as ``jobs/FILE.yaml:LINE:COL: path: message`` before the
daemon schedules anything, so a typo never silently disables a nightly job.

Trigger *validation* asks the scheduler module (the one home of APScheduler) whether
a cron expression parses; this module stays free of APScheduler itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from sfrenew.runner import RunRequest, Step
from sfrenew.scheduler import cron_problem
from sfrenew.yamlsource import (
    LocationIndex,
    SourceError,
    YamlSourceError,
    load,
    validation_errors,
)

JOB_SUFFIX = ".yaml"
NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"
DEFAULT_MISFIRE_GRACE_SECONDS = 600
_STEP_ORDER = list(Step)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IntervalSpec(_Strict):
    """``interval: {minutes: 15}`` — a fixed period; at least one unit above zero."""

    weeks: StrictInt = Field(default=0, ge=0)
    days: StrictInt = Field(default=0, ge=0)
    hours: StrictInt = Field(default=0, ge=0)
    minutes: StrictInt = Field(default=0, ge=0)
    seconds: StrictInt = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _not_zero(self) -> IntervalSpec:
        if self.total_seconds() <= 0:
            raise ValueError("an interval needs at least one of weeks, days, hours, minutes, "
                             "seconds above 0")
        return self

    def total_seconds(self) -> int:
        """The period in seconds."""
        return (((self.weeks * 7 + self.days) * 24 + self.hours) * 60 + self.minutes) * 60 \
            + self.seconds


class TriggerSpec(_Strict):
    """When a job fires: exactly one of ``cron``, ``interval`` or ``date``.

    ``timezone`` (an IANA name) applies to ``cron``: "0 2 * * *" in Europe/Paris is
    02:00 Paris time, summer and winter. ``date`` must carry its UTC offset so that
    a single run never fires at a surprising hour.
    """

    cron: StrictStr | None = Field(default=None,
                                   description='crontab expression, e.g. "0 2 * * *"')
    interval: IntervalSpec | None = None
    date: datetime | None = Field(default=None,
                                  description="one run at this instant (with offset)")
    timezone: StrictStr = Field(default="UTC",
                                description="IANA timezone for cron, e.g. Europe/Paris")

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is None:
            return value
        fields = value.split()
        if len(fields) == 5 and re.search(r"\d", fields[4]):
            # APScheduler counts day-of-week 0 as Monday, crontab as Sunday.
            raise ValueError(f"cron {value!r}: write the day of week as names (mon-fri, sun): "
                             "numbers mean different days in crontab and APScheduler")
        problem = cron_problem(value, "UTC")  # syntax does not depend on the zone
        if problem:
            raise ValueError(f"cron {value!r}: {problem}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r} (use an IANA name such as UTC or "
                             "Europe/Paris)") from None
        return value

    @field_validator("date", mode="before")
    @classmethod
    def _aware(cls, value: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ValueError("give the date its UTC offset, e.g. 2026-12-01T02:00:00+00:00")
        if isinstance(value, date) and not isinstance(value, datetime):
            raise ValueError("give a date and time with its UTC offset, "
                             "e.g. 2026-12-01T02:00:00+00:00")
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> TriggerSpec:
        given = [k for k in ("cron", "interval", "date") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a trigger is exactly one of cron, interval or date"
                             + (f" (got {', '.join(given)})" if given else ""))
        return self

    def describe(self) -> str:
        """A short human description (``cron 0 2 * * * Europe/Paris``, ``every 15m``)."""
        if self.cron is not None:
            return f"cron {self.cron} ({self.timezone})"
        if self.interval is not None:
            return "every " + _duration(self.interval.total_seconds())
        assert self.date is not None  # exactly one, checked above
        return f"once at {self.date.isoformat()}"


class JobParams(_Strict):
    """``params:`` — the run's scope and limits."""

    horizon_days: StrictInt | None = Field(default=None, ge=0, le=3660,
                                           description="overrides the rules' horizon")
    accounts: list[StrictStr] = Field(default_factory=list,
                                      description="only these Account Ids (empty: all)")
    dry_run: StrictBool = Field(default=False, description="plan and report, write nothing")
    max_api_calls: StrictInt | None = Field(default=None, ge=1,
                                            description="hard cap for one run")
    rules: list[Literal["renewals", "risk", "cadence", "analytics"]] = Field(
        default_factory=list, description="write only these rule sets (empty: renewals, "
        "risk and cadence): renewals (opportunities, lines), risk (risk fields, forecast "
        "category), cadence (tasks), analytics (metric rows, the week's forecast snapshot, "
        "renewal outcomes; only when named)")
    misfire_grace_seconds: StrictInt = Field(default=DEFAULT_MISFIRE_GRACE_SECONDS, ge=1,
        description="a fire missed by more than this (daemon down, busy) is skipped")


class JobFile(_Strict):
    """One ``jobs/NAME.yaml`` file."""

    name: StrictStr | None = Field(default=None,
                                   description="defaults to the file name without .yaml")
    description: StrictStr | None = None
    enabled: StrictBool = True
    trigger: TriggerSpec
    steps: list[Step] = Field(min_length=1)
    params: JobParams = Field(default_factory=JobParams)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not re.match(NAME_PATTERN, value):
            raise ValueError(f"{value!r} is not a job name: use lowercase letters, digits, "
                             "'-', '_' or '.', starting with a letter or digit")
        return value

    @field_validator("steps")
    @classmethod
    def _ordered(cls, steps: list[Step]) -> list[Step]:
        if len(set(steps)) != len(steps):
            raise ValueError("a step is listed twice")
        if steps != sorted(steps, key=_STEP_ORDER.index):
            raise ValueError("steps run in the order pull, plan, apply, report; list them so")
        if Step.APPLY in steps and Step.PLAN not in steps:
            raise ValueError("apply writes what plan decided: add plan before apply")
        return steps


@dataclass(frozen=True)
class JobSpec:
    """A valid job: its name, where it came from, and what it runs when."""

    name: str
    source: Path
    enabled: bool
    trigger: TriggerSpec
    steps: tuple[Step, ...]
    params: JobParams
    description: str | None = None

    def request(self, *, dry_run: bool = False, resume_run_id: str | None = None) -> RunRequest:
        """The RunRequest one fire of this job executes (``dry_run`` can only add safety)."""
        return RunRequest(job=self.name, steps=self.steps,
                          dry_run=self.params.dry_run or dry_run,
                          accounts=tuple(self.params.accounts),
                          horizon_days=self.params.horizon_days,
                          max_api_calls=self.params.max_api_calls,
                          resume_run_id=resume_run_id,
                          rules=tuple(self.params.rules))


def _duration(seconds: int) -> str:
    parts = []
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)


def parse_job(data: Any, index: LocationIndex, *, stem: str) -> tuple[JobSpec | None,
                                                                      list[SourceError]]:
    """Validate one parsed job file; the spec (or None) and every mistake found."""
    if not isinstance(data, dict):
        return None, [index.error((), "a job file is a mapping with trigger, steps, params")]
    try:
        model = JobFile.model_validate(data)
    except ValidationError as exc:
        return None, [replace(e, message=e.message.removeprefix("Value error, "))
                      for e in validation_errors(exc, index, model=JobFile,
                                                 reference="jobs/README.md")]
    name = model.name or stem
    if model.name is None and not re.match(NAME_PATTERN, stem):
        return None, [index.error((), f"the file name {stem!r} is not a job name; "
                                      "add name: with lowercase letters, digits, - or _")]
    return JobSpec(name=name, source=Path(index.file), enabled=model.enabled,
                   trigger=model.trigger, steps=tuple(model.steps), params=model.params,
                   description=model.description), []


def load_jobs(directory: Path) -> list[JobSpec]:
    """Every job in ``directory`` (``*.yaml``, by file name); raise YamlSourceError with
    every mistake of every file at once, including duplicate names across files."""
    if not directory.is_dir():
        raise YamlSourceError([SourceError(str(directory), 1, 1, "",
                                           "no jobs folder here (give --jobs-dir)")])
    errors: list[SourceError] = []
    specs: list[tuple[JobSpec, LocationIndex]] = []
    for path in sorted(directory.glob(f"*{JOB_SUFFIX}")):
        try:
            data, index = load(path)
        except YamlSourceError as exc:
            errors.extend(exc.errors)
            continue
        spec, problems = parse_job(data, index, stem=path.name[: -len(JOB_SUFFIX)])
        errors.extend(problems)
        if spec is not None:
            specs.append((spec, index))
    seen: dict[str, Path] = {}
    for spec, index in specs:
        if spec.name in seen:
            errors.append(index.error(("name",), f"job name {spec.name!r} is already used by "
                                                 f"{seen[spec.name]}"))
        seen.setdefault(spec.name, spec.source)
    if errors:
        raise YamlSourceError(errors)
    return [spec for spec, _ in specs]


def find_job(jobs: list[JobSpec], name: str) -> JobSpec | None:
    """The job called ``name``, if any."""
    return next((job for job in jobs if job.name == name), None)
