"""``sfrenew localorg ...``: serve, seed, reset, inspect and demo the local org.

The renewal demo (``sfrenew demo``) lives in ``cli/demo.py``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import tempfile
import threading
from datetime import UTC
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click
import requests

from sfrenew.cli.localorg_options import fault_config, org_options
from sfrenew.cli.localorg_token import token_command
from sfrenew.locks import Busy

if TYPE_CHECKING:
    from sfrenew.localorg.app import LocalOrg


DEFAULT_DATA_DIR = Path(".state/localorg")
# Mirrors sfrenew.localorg.app; the CLI imports the server only when a command runs it.
CONNECTION_FILE = "connection.json"
DATABASE_FILE = "org.sqlite3"
DEMO_CONTRACTS = 200

data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_DATA_DIR,
    show_default=True, help="Where the org keeps its database, certificates and credentials.")


@click.group()
def localorg() -> None:
    """The embedded Salesforce-compatible org (HTTPS on 127.0.0.1)."""


@localorg.command()
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1; 0 picks a free one.")
@data_dir_option
@org_options
def serve(port: int, data_dir: Path, **settings: Any) -> None:
    """Serve until Ctrl-C or SIGTERM; print the connection JSON when ready.

    Any Salesforce client can use it: trust `ca_file`, use `instance_url`, and get a
    token with `sfrenew localorg token` (docs/localorg.md, "Use it from other clients":
    jsforce, the Salesforce CLI, simple-salesforce).
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    running = _running_server(data_dir)
    if running is not None:
        info = running[0]
        raise click.ClickException(
            f"a local org already serves {data_dir} at {info['instance_url']} "
            f"(pid {info.get('pid')}); stop it first or use another --data-dir")
    org = _open(data_dir, port=port, daily_api_requests=settings["daily_api_requests"],
                licenses=settings["licenses"], faults=fault_config(settings))
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        # The one line a supervisor or script reads; the same JSON is in connection.json.
        click.echo(json.dumps(org.connection_info, sort_keys=True), nl=True)
        click.echo(f"a token for other clients: sfrenew localorg token --data-dir {data_dir} "
                   "(docs/localorg.md shows jsforce, the Salesforce CLI and "
                   "simple-salesforce)", err=True)
        while not stop.wait(0.5):
            pass
    finally:
        org.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("local org stopped", err=True)


@localorg.command()
@click.option("--contracts", type=click.IntRange(1), default=DEMO_CONTRACTS, show_default=True,
              help="How many contracts the book of business has.")
@click.option("--seed", "seed_value", type=int, default=1, show_default=True,
              help="Random seed: the same seed gives the same org.")
@data_dir_option
def seed(contracts: int, seed_value: int, data_dir: Path) -> None:
    """Fill the org with a deterministic, realistic book of business."""
    _refuse_if_running(data_dir, "seed")
    from sfrenew.localorg.seed import AlreadySeededError  # noqa: PLC0415

    with _open(data_dir) as org:
        try:
            summary = _seed(org, contracts=contracts, seed_value=seed_value)
        except AlreadySeededError as exc:
            raise click.ClickException(
                f"{exc} (`sfrenew localorg reset --data-dir {data_dir}`)") from None
        click.echo(f"seeded {data_dir}: {summary}")
        _echo_counts(org.store.counts())


@localorg.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@data_dir_option
def reset(yes: bool, data_dir: Path) -> None:
    """Delete every record (credentials and certificates are kept)."""
    _refuse_if_running(data_dir, "reset")
    if not (data_dir / DATABASE_FILE).exists():
        raise click.ClickException(f"no local org database in {data_dir}; nothing to reset")
    if not yes:
        click.confirm(f"Delete every record in {data_dir}?", abort=True)
    with _open(data_dir) as org:
        org.reset()
    click.echo(f"reset {data_dir}")


@localorg.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@data_dir_option
def stats(as_json: bool, data_dir: Path) -> None:
    """Record counts per object and API calls by kind (from the running server if any)."""
    running = _running_server(data_dir)
    if running is not None:
        info, result = running
        result["source"] = info["instance_url"]
    else:
        if not (data_dir / DATABASE_FILE).exists():
            raise click.ClickException(
                f"no local org in {data_dir}: run `sfrenew localorg seed` or "
                "`sfrenew localorg serve` first")
        with _open(data_dir) as org:
            result = {"records": org.store.counts(), "source": str(data_dir / DATABASE_FILE),
                      "calls": None}
    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
        return
    click.echo(f"local org: {result['source']}")
    _echo_counts(result["records"])
    if result.get("calls") is None:
        click.echo("API calls: no server running (counts live in the server's memory)")
        return
    usage = result["api_usage"]
    click.echo(f"API usage: {usage['used']}/{usage['max']}")
    for kind, count in result["calls"].items():
        click.echo(f"  {kind:<14} {count:>8}")
    for code, count in result["errors"].items():
        click.echo(f"  error {code:<30} {count:>6}")
    for name, count in (result.get("faults") or {}).items():
        click.echo(f"  injected {name:<27} {count:>6}")


@localorg.command("demo")
@click.option("--contracts", type=click.IntRange(1), default=DEMO_CONTRACTS, show_default=True)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the demo org here (default: a temporary directory, removed after).")
def demo(contracts: int, data_dir: Path | None) -> None:
    """Start the local org, seed it, show what is in it, stop."""
    if data_dir is not None:
        _run_demo(data_dir, contracts)
        return
    with tempfile.TemporaryDirectory(prefix="sfrenew-demo-") as tmp:
        _run_demo(Path(tmp), contracts)


def _run_demo(data_dir: Path, contracts: int) -> None:
    with _open(data_dir) as org:
        click.echo(f"local org serving at {org.instance_url} (data in {data_dir})")
        summary = _seed(org, contracts=contracts, seed_value=1)
        click.echo(f"seeded: {summary}")
        _echo_counts(org.store.counts())
        soql = ("SELECT ContractNumber, Account.Name, StartDate, EndDate, Status "
                "FROM Contract WHERE EndDate >= TODAY ORDER BY EndDate LIMIT 5")
        info = org.connection_info
        with requests.Session() as http:
            http.verify = info["ca_file"]
            http.trust_env = False  # REQUESTS_CA_BUNDLE would override verify otherwise
            http.headers["Authorization"] = f"Bearer {org.issue_session()}"
            response = http.get(f"{org.instance_url}/services/data/v{info['api_version']}/query",
                                params={"q": soql}, timeout=30)
        if response.status_code != 200:
            raise click.ClickException(f"sample query failed: {response.text}")
        click.echo("next contracts to end (queried over HTTPS):")
        for record in response.json()["records"]:
            account = (record.get("Account") or {}).get("Name")
            click.echo(f"  {record.get('ContractNumber')}  {account!s:<40} "
                       f"{record.get('StartDate')} → {record.get('EndDate')}  "
                       f"{record.get('Status')}")


def _seed(org: LocalOrg, *, contracts: int, seed_value: int) -> Any:
    from sfrenew.localorg.seed import seed_book  # noqa: PLC0415 (heavy; only when seeding)

    return seed_book(org.store, contracts=contracts, seed=seed_value,
                     today=org.clock().astimezone(UTC).date())


def _open(data_dir: Path, *, port: int = 0, **settings: Any) -> LocalOrg:
    """Start a local org on ``data_dir``, or explain why it cannot start.

    ``settings`` are further ``LocalOrg`` arguments (allocation, faults).
    """
    from sfrenew.localorg.app import LocalOrg  # noqa: PLC0415 (keeps `sfrenew --help` fast)

    org = LocalOrg(data_dir, port=port, **settings)
    try:
        return org.start()
    except OSError as exc:
        raise click.ClickException(
            f"cannot start the local org in {data_dir}: {exc}. Check that the directory "
            "is writable and the port is free.") from exc
    except (ValueError, Busy) as exc:
        raise click.ClickException(str(exc)) from exc


def _live_connection(data_dir: Path) -> dict[str, Any] | None:
    """connection.json of a server that runs on ``data_dir``, or None."""
    running = _running_server(data_dir)
    return running[0] if running is not None else None


localorg.add_command(token_command(CONNECTION_FILE, _live_connection))


def _echo_counts(counts: dict[str, int]) -> None:
    click.echo("records:")
    for name, count in sorted(counts.items()):
        click.echo(f"  {name:<28} {count:>9,}")


def _running_server(data_dir: Path) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """connection.json and current stats of a server that answers, or None."""
    path = data_dir / CONNECTION_FILE
    if not path.exists():
        return None
    try:
        info: dict[str, Any] = json.loads(path.read_text("utf-8"))
        pid = int(info.get("pid", 0))
        if pid <= 0:
            return None
        os.kill(pid, 0)  # raises when no such process
    except (OSError, ValueError):
        return None
    try:
        return info, _fetch_stats(info)
    except click.ClickException:
        return None


def _fetch_stats(info: dict[str, Any]) -> dict[str, Any]:
    try:
        with requests.Session() as http:
            http.trust_env = False
            response = http.get(f"{info['instance_url']}/_localorg/stats",
                                auth=(info["client_id"], info["client_secret"]),
                                verify=info["ca_file"], timeout=5)
    except (requests.RequestException, KeyError) as exc:
        raise click.ClickException(f"the local org at {info.get('instance_url')} "
                                   f"does not answer: {exc}") from exc
    if response.status_code != 200:
        raise click.ClickException(f"stats failed: {response.status_code} {response.text}")
    stats: dict[str, Any] = response.json()
    return stats


def _refuse_if_running(data_dir: Path, what: str) -> None:
    running = _running_server(data_dir)
    if running is not None:
        raise click.ClickException(
            f"a local org is serving {data_dir} (pid {running[0].get('pid')}); stop it before "
            f"`sfrenew localorg {what}`")
