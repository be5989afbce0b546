"""``sfrenew localorg token``: a fresh access token of a running local org, for scripts.

The token comes from the server's OAuth 2.0 client credentials flow (the connected
app's id and secret are in the data dir's ``connection.json``), so it is a real
session of that server and lives as long as any other (2 hours by default). The
formats fit the clients docs/localorg.md shows: the bare token (``sf org login
access-token``, ``curl``), shell ``export`` lines (jsforce, simple-salesforce) and JSON.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import click

from sfrenew.salesforce import AuthError, GatewayError
from sfrenew.salesforce.auth import local_session
from sfrenew.salesforce.config import Secret

FORMATS = ("token", "env", "json")


def fetch_token(info: dict[str, Any]) -> dict[str, Any]:
    """A new token from the server described by ``info`` (connection.json)."""
    try:
        grant = local_session(instance_url=str(info["instance_url"]),
                              client_id=str(info["client_id"]),
                              client_secret=Secret(str(info["client_secret"])),
                              ca_file=Path(str(info["ca_file"])))
    except AuthError as exc:
        raise click.ClickException(f"the token endpoint refused: {exc}") from exc
    except (GatewayError, KeyError) as exc:
        raise click.ClickException(
            f"the local org at {info.get('instance_url')} does not answer ({exc}); start it "
            "with `sfrenew localorg serve`") from exc
    return {"access_token": grant.access_token.reveal(), "instance_url": grant.instance_url}


def render(info: dict[str, Any], token: dict[str, Any], fmt: str) -> str:
    """The text ``token`` prints in one of ``FORMATS``."""
    if fmt == "token":
        return str(token["access_token"])
    fields = {
        "access_token": token["access_token"],
        "instance_url": token["instance_url"],
        "ca_file": info["ca_file"],
        "org_id": info.get("org_id"),
        "username": info.get("username"),
        "api_version": info.get("api_version"),
    }
    if fmt == "json":
        return json.dumps(fields, indent=2, sort_keys=True)
    exports = {
        "SF_ACCESS_TOKEN": fields["access_token"],
        "SF_INSTANCE_URL": fields["instance_url"],
        "SF_API_VERSION": fields["api_version"],
        # Node (jsforce, the Salesforce CLI) trusts the org's CA through this variable.
        "NODE_EXTRA_CA_CERTS": fields["ca_file"],
    }
    return "\n".join(f"export {name}={shlex.quote(str(value))}"
                     for name, value in exports.items())


def token_command(connection_file: str, running_info: Any) -> click.Command:
    """Build the command (``running_info(data_dir)`` reads a live server's connection.json)."""

    @click.command("token")
    @click.option("--format", "fmt", type=click.Choice(FORMATS), default="token",
                  show_default=True,
                  help="token: the bare token; env: shell export lines (SF_ACCESS_TOKEN, "
                       "SF_INSTANCE_URL, SF_API_VERSION, NODE_EXTRA_CA_CERTS); json: all of it.")
    @click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
                  default=Path(".state/localorg"), show_default=True,
                  help="The data dir of the running `sfrenew localorg serve`.")
    def token(fmt: str, data_dir: Path) -> None:
        """Print a fresh access token of the running local org (for scripts and other clients).

        \b
        export SF_ACCESS_TOKEN=$(sfrenew localorg token)
        eval "$(sfrenew localorg token --format env)"
        """
        info = running_info(data_dir)
        if info is None:
            raise click.ClickException(
                f"no local org is serving {data_dir} (no live server in "
                f"{data_dir / connection_file}); start one with "
                f"`sfrenew localorg serve --data-dir {data_dir}`")
        click.echo(render(info, fetch_token(info), fmt))

    return token
