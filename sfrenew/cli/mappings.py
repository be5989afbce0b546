"""``sfrenew mappings ...``: check mapping files, export their JSON Schema and metadata.

``check`` exits 2 (a configuration mistake, in the one exit-code table of
:mod:`sfrenew.cli._ops_common`) when any file has an error (phase 1, or phase 2 with
``--org``) and 0 otherwise, warnings included, so CI can gate on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from sfrenew.cli._ops_common import CONFIG_ENV, EXIT_CONFIG, fail
from sfrenew.mapping import (
    DescribeSource,
    Level,
    LoadedMapping,
    check_against_describe,
    fetch_describes,
    load_mapping,
)
from sfrenew.mapping.jsonschema import SCHEMA_PATH, render_json_schema
from sfrenew.mapping.metadata import AnalyticsFieldsMissing, project_for, write_project
from sfrenew.yamlsource import YamlSourceError

DEFAULT_GLOB = "mappings/*.yaml"
API_VERSION = "62.0"  # what the describe JSON claims to be; the checks do not depend on it


class LocalSchemaDescribes:
    """Describes from the local org's built-in schema, without a running server."""

    def describe(self, sobject: str) -> dict[str, Any]:
        """The local org's describe of ``sobject``; LookupError when it has none."""
        from sfrenew.localorg.describe import describe_sobject  # noqa: PLC0415 - optional
        from sfrenew.localorg.schema import default_schema  # noqa: PLC0415

        obj = default_schema().object(sobject)
        if obj is None:
            raise LookupError(sobject)
        return dict(describe_sobject(obj, api_version=API_VERSION))

    def describe_global(self) -> dict[str, Any]:
        """The object names of the local org, as the global describe lists them."""
        from sfrenew.localorg.schema import default_schema  # noqa: PLC0415

        return {"sobjects": [{"name": o.name} for o in default_schema().objects.values()]}


def _object_names(source: DescribeSource) -> list[str]:
    """Every object name of the org, for suggestions (one call, when the source can)."""
    describe_global = getattr(source, "describe_global", None)
    if describe_global is None:
        return []
    return [str(o["name"]) for o in describe_global().get("sobjects", [])]


def _config_mapping(config: Path) -> Path:
    """The mapping file the config names (exit 2 naming where, when it names none)."""
    from sfrenew.config import mapping_path_of  # noqa: PLC0415 - only without file args

    try:
        return mapping_path_of(config)
    except YamlSourceError as exc:
        fail(f"the configuration has mistakes (nothing was checked):\n{exc}", EXIT_CONFIG)


def _files(given: tuple[Path, ...], config: Path | None) -> list[Path]:
    """The files to check: the arguments; else the config's mapping (``--config`` or
    ``$SFRENEW_CONFIG``), so the command works from any folder; else mappings/*.yaml."""
    if given:
        return list(given)
    if config is not None:
        return [_config_mapping(config)]
    found = sorted(Path().glob(DEFAULT_GLOB))
    if not found:
        raise click.UsageError(f"no mapping files given and none match {DEFAULT_GLOB} here; "
                               f"name the files, or the config whose mapping to check with "
                               f"--config (or ${CONFIG_ENV})")
    return found


def _gateway_source(config_path: Path) -> tuple[DescribeSource, tuple[type[Exception], ...]]:
    """The gateway for the config's ``salesforce:`` section (logs in once)."""
    from sfrenew.config import load_salesforce  # noqa: PLC0415 - only for --org
    from sfrenew.salesforce.errors import ConfigurationError, GatewayError  # noqa: PLC0415
    from sfrenew.salesforce.gateway import connect  # noqa: PLC0415

    # The config's state_dir decides where its local org is, as for every other command.
    try:
        config = load_salesforce(config_path)
    except YamlSourceError as exc:  # the config's salesforce: section is wrong: say where
        fail(f"the configuration has mistakes (nothing was checked):\n{exc}", EXIT_CONFIG)
    try:
        gateway = connect(config, base_dir=config_path.parent, check_limits=False)
    except GatewayError as exc:
        raise click.ClickException(f"cannot connect to the org: {exc}") from None
    return gateway, (ConfigurationError,)


def _source(config: Path | None) -> tuple[DescribeSource, tuple[type[Exception], ...], str]:
    if config is None:
        return LocalSchemaDescribes(), (LookupError,), "the local org's schema"
    source, missing = _gateway_source(config)
    return source, missing, f"the org of {config}"


@click.group()
def mappings() -> None:
    """Check the field mappings admins edit (mappings/*.yaml)."""


@mappings.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--org", is_flag=True, help="Also check against the org's describe (phase 2).")
@click.option("--config", "config", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              envvar=CONFIG_ENV,
              help="Config (or $SFRENEW_CONFIG) whose mapping is checked when no files are "
                   "given, and whose salesforce: section names the org for --org; without "
                   "it, --org checks against the local org's built-in schema.")
def check(files: tuple[Path, ...], org: bool, config: Path | None) -> None:
    """Check mapping files (default: mappings/*.yaml); every problem at once.

    Exit status 2 on any error, 0 when there are only warnings.
    """
    loaded: list[LoadedMapping] = []
    failed = False
    for path in _files(files, config):
        try:
            loaded.append(load_mapping(path))
        except YamlSourceError as exc:
            failed = True
            for error in exc.errors:
                click.echo(f"{error.file}:{error.line}:{error.column}: error: "
                           f"{error.path + ': ' if error.path else ''}{error.message}", err=True)
    if org and loaded:
        source, missing, where = _source(config)
        click.echo(f"checking against {where}", err=True)
        names = _object_names(source)
        for mapping in loaded:
            for finding in check_against_describe(
                    mapping, fetch_describes(mapping, source, missing=missing),
                    object_names=names):
                failed = failed or finding.level is Level.ERROR
                click.echo(str(finding), err=True)
    for mapping in loaded:
        click.echo(f"{mapping.file}: {'checked' if org else 'valid'}")
    if failed:
        raise SystemExit(EXIT_CONFIG)


@mappings.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=SCHEMA_PATH,
              show_default=True, help="Where to write the schema; '-' for standard output.")
def schema(out: Path) -> None:
    """Write the JSON Schema of mapping files (for editor completion)."""
    text = render_json_schema()
    if str(out) == "-":
        click.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    click.echo(f"wrote {out}")


@mappings.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, exists=True,
                                                        path_type=Path),
                default=Path("mappings/standard.yaml"))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the SFDX project to deploy.")
def metadata(file: Path, out: Path) -> None:
    """Write Salesforce metadata (source format) for what a mapping needs.

    The custom fields and objects, a permission set, and the renewal analytics: report
    types, reports and a dashboard (docs/salesforce-setup.md). Deploy it with:
    cd OUT && sf project deploy start --source-dir force-app
    """
    try:
        mapping = load_mapping(file)
    except YamlSourceError as exc:
        fail(str(exc), EXIT_CONFIG)
    try:
        project = project_for(mapping.model)
    except AnalyticsFieldsMissing as exc:
        lines = []
        for (concept, name), reports in exc.needed.items():
            line, column = mapping.locate([concept, "fields"])
            lines.append(f"{mapping.file}:{line}:{column}: error: {concept}.fields: {name} "
                         f"is not mapped; needed by the reports: {', '.join(reports)}")
        fail("\n".join(lines) + "\nnothing was written: map these fields (docs/mappings.md) "
             "and run the command again", EXIT_CONFIG)
    for note in project.notes:
        click.echo(f"note: {note}", err=True)
    try:
        written = write_project(project, out)
    except OSError as exc:
        fail(f"cannot write the project to {out}: {exc.strerror or exc} "
             f"({exc.filename or out}); choose another --out folder", EXIT_CONFIG)
    click.echo(f"wrote {len(written)} files to {out}; deploy with: "
               f"cd {out} && sf project deploy start --source-dir force-app")
