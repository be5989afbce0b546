"""``sfrenew demo``: the README's first command, on the embedded local org.

Starts from scratch in ``<state_dir>/demo`` every time (the org's data, the state
store and a derived config file live there), seeds a book with a fixed seed, runs
the real main job once (pull → plan → apply) with the given config, then the weekly
analytics job (metric rows, forecast snapshot, outcomes), prints what they did and
where to look next, writes the report page, and stops the org.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import click
import yaml

from sfrenew.cli.report import demo_report
from sfrenew.config import AppConfig
from sfrenew.localorg.app import LocalOrg, data_dir_lock
from sfrenew.localorg.seed import seed_book
from sfrenew.plan import iter_accounts
from sfrenew.runner import RunRequest, Step, execute

SAMPLES = 3
EXPLANATION_LINES = 8


def demo_config(config: AppConfig, demo_dir: Path) -> tuple[AppConfig, Path]:
    """``config`` pointed at the demo's org and state, and a config file saying so."""
    org_dir = demo_dir / "org"
    derived = dataclasses.replace(
        config, state_dir=demo_dir, store_url=f"sqlite:///{demo_dir / 'sfrenew.sqlite3'}",
    ).with_salesforce(target="local", local_data_dir=org_dir)
    document = yaml.safe_load(config.path.read_text(encoding="utf-8")) or {}
    document["state_dir"] = str(demo_dir.resolve())
    document["store"] = {"url": derived.store_url}
    document["mappings"] = str(config.mapping_path.resolve())
    document["salesforce"] = {**(document.get("salesforce") or {}), "target": "local",
                              "local_data_dir": str(org_dir.resolve())}
    path = demo_dir / "config.yaml"
    path.write_text("# Written by `sfrenew demo`: the demo's org and state.\n"
                    + yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return derived, path


def example_config(path: Path, *, default: bool) -> Path:
    """The config the demo runs with: ``path``, or, when the default is asked for and the
    current folder has none, the project's own ``config.example.yaml`` (so the demo runs
    from any folder)."""
    if not default or path.exists():
        return path
    shipped = Path(__file__).resolve().parents[2] / "config.example.yaml"
    return shipped if shipped.exists() else path


def demo_state_dir(config: AppConfig, found: Path) -> Path:
    """Where the demo keeps its org and state: the config's state dir, except that the
    project's example config, used from another folder, keeps it under that folder."""
    if found.is_absolute() and not Path("config.example.yaml").exists():
        return Path.cwd() / ".state"
    return config.state_dir


def run_demo(config: AppConfig, *, contracts: int, seed: int,
             clock: Callable[[], datetime], state_dir: Path | None = None) -> None:
    """Run the demo and print its summary (see module docstring)."""
    demo_dir = ((state_dir or config.state_dir) / "demo").resolve()
    if demo_dir.exists():
        # Busy (shown without a traceback) while a local org serves the demo's data.
        with data_dir_lock(demo_dir / "org").hold():
            shutil.rmtree(demo_dir)
    demo_dir.mkdir(parents=True)
    derived, config_file = demo_config(config, demo_dir)
    today = clock().date()
    with LocalOrg(demo_dir / "org") as org:
        click.echo(f"local org serving at {org.instance_url} (data in {demo_dir / 'org'})")
        summary = seed_book(org.store, contracts=contracts, seed=seed, today=today)
        click.echo(f"seeded a book of {summary.contracts} contracts: {summary}")
        click.echo("running the main job once: pull → plan → apply …")
        outcome = execute(derived, RunRequest(job="main", steps=(
            Step.PULL, Step.PLAN, Step.APPLY, Step.REPORT)), clock=clock)
        # The analytics job (jobs/analytics.yaml): pulls the renewals just written,
        # writes the metric rows, this week's forecast snapshot and the outcomes.
        analytics = execute(derived, RunRequest(
            job="analytics", steps=(Step.PULL, Step.PLAN, Step.APPLY), rules=("analytics",)),
            clock=clock)
    click.echo(f"\nrun {outcome.run_id}: {outcome.status} in {outcome.duration_s:.1f}s "
               f"({outcome.message})")
    click.echo("created in the org:")
    for obj, counts in sorted(outcome.stats.get("written", {}).items()):
        click.echo(f"  {obj:<22} created {counts['created']:>5}  updated {counts['updated']:>5}"
                   f"  rejected {counts['rejected']:>3}")
    plan = outcome.stats.get("plan") or {}
    skipped = plan.get("skipped_contracts") or {}
    if skipped:
        click.echo("contracts not renewed now: " + ", ".join(
            f"{reason} {n}" for reason, n in sorted(skipped.items())))
    if plan.get("routing"):
        click.echo(f"assignee roles that fell back (a user not found or inactive): "
                   f"{plan['routing']}; each with the record to fix in the plan")
    calls = outcome.api_calls
    click.echo(f"API calls: {sum(calls.values())} (" + ", ".join(
        f"{k} {v}" for k, v in sorted(calls.items())) + ")")
    plan_file = outcome.stats.get("plan_file")
    if plan_file:
        _samples(Path(plan_file))
    click.echo(f"""
where to look next:
  sfrenew runs --config {config_file}                  # this run, and later ones
  sfrenew runs show {outcome.run_id} --config {config_file}
  sfrenew localorg serve --data-dir {demo_dir / 'org'}   # then, in another terminal:
  sfrenew plan --config {config_file}                  # a second run plans nothing new
  docs/running.md                                      # runs, plans, apply, rollback""")
    written = analytics.stats.get("written", {})
    click.echo(f"\nanalytics run {analytics.run_id}: {analytics.status}; in the org: " + ", ".join(
        f"{obj} {c['created']} created, {c['updated']} updated"
        for obj, c in sorted(written.items())))
    page = demo_report(derived, demo_dir / "report.html")
    click.echo(f"\nrenewal analytics (sfrenew report --config {config_file}): {page}")


def _samples(path: Path) -> None:
    shown = 0
    for account in iter_accounts(path):
        for renewal in account.renewals:
            if shown >= SAMPLES:
                return
            shown += 1
            click.echo(f"\n• {renewal.name}: {renewal.amount} {renewal.currency}, "
                       f"{renewal.start_date} → {renewal.end_date}, risk {renewal.risk}, "
                       f"forecast {renewal.forecast}")
            lines = [line for line in renewal.explanation.splitlines() if line.strip()]
            click.echo("  " + "\n  ".join(lines[:EXPLANATION_LINES]))
            if len(lines) > EXPLANATION_LINES:
                click.echo(f"  … ({len(lines) - EXPLANATION_LINES} more lines on the opportunity)")
