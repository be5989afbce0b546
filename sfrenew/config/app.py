"""The whole config file, read once and validated section by section.

Every mistake of every section is reported at once as ``FILE:LINE:COL: path: message``
(mapping mistakes are located in the mapping file itself), and a bad config stops the
run before anything is read from or written to Salesforce.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sfrenew.config.rules import rules_from_document
from sfrenew.core.policy import RulesPolicy
from sfrenew.mapping import MappingFile, load_mapping
from sfrenew.salesforce import SalesforceConfig
from sfrenew.yamlsource import (
    LocationIndex,
    SourceError,
    YamlSourceError,
    load,
    validation_errors,
)

DEFAULT_STATE_DIR = ".state"
DEFAULT_MAPPING = "mappings/standard.yaml"
STORE_FILE = "sfrenew.sqlite3"
SECTIONS = frozenset({"salesforce", "store", "state_dir", "mappings", "rules", "run",
                      "analytics", "queue"})
ORG_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"
DEFAULT_ORG = "default"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreSettings(_Strict):
    """``store:`` — where the state store lives (default: SQLite under the state dir)."""

    url: str | None = Field(None, description="SQLAlchemy URL; default sqlite:///<state_dir>/"
                                              "sfrenew.sqlite3; postgres:// is read as "
                                              "postgresql+psycopg://")

class QueueSettings(_Strict):
    """``queue:`` — this org on the PostgreSQL job queue (``sfrenew worker``; scale-out).

    Only read by ``sfrenew worker`` and ``sfrenew run`` on PostgreSQL: the embedded
    SQLite default ignores it. Several orgs share one queue by naming the same ``url``
    in their own config files (docs/operations.md, "Scaling out").
    """

    org: str = Field(default=DEFAULT_ORG, pattern=ORG_NAME_PATTERN,
                     description="this org's name in the deployment (lowercase, digits, - _)")
    url: str | None = Field(default=None,
                            description="PostgreSQL URL of the shared job queue; default: "
                                        "store.url")
    jobs_dir: str = Field(default="jobs",
                          description="this org's job files (relative to this file)")
    concurrency: int = Field(default=2, ge=1, le=64, description="backfill chunks of this org that "
                             "may run at once (its nightly jobs always run one at a time)")
    heartbeat_seconds: float = Field(default=10.0, ge=0.1, le=600, description="how often a "
                                     "worker tells the queue it is alive")
    stalled_after_seconds: float = Field(default=30.0, ge=1, le=86_400, description="a worker "
                                         "silent this long is dead: the leader retries its "
                                         "jobs (keep it above 2x heartbeat_seconds)")
    chunk_accounts: int = Field(default=500, ge=1, le=100_000, description="accounts per backfill "
                                "chunk (one queued job each)")


class RunSettings(_Strict):
    """``run:`` — how a run pulls, writes and spends API calls."""

    horizon_days: int | None = Field(None, ge=0, le=3660, description="overrides "
                                     "rules.eligibility.horizon_days when set")
    pull_overlap_seconds: int = Field(300, ge=0, le=86_400, description="re-read this much "
                                      "before the watermark (clock skew, late commits)")
    write_chunk_size: int = Field(200, ge=1, le=10_000, description="records per ledger "
                                  "intent + write chunk (a crash repeats at most one)")
    bulk_read_rows: int | None = Field(None, ge=1, description="Bulk API 2.0 query from this "
                                       "many rows (overrides salesforce.thresholds)")
    bulk_write_rows: int | None = Field(None, ge=1, description="Bulk API 2.0 ingest from this "
                                        "many rows (overrides salesforce.thresholds)")
    max_api_calls: int | None = Field(None, ge=1, description="hard cap of API calls per run")
    reserve_daily_calls: int = Field(0, ge=0, description="daily API calls left for others")
    full_plan: bool = Field(False, description="plan every account on every run instead of "
                            "only those whose records changed or whose plan moves with the "
                            "date (the plan is the same either way; see docs/rules.md)")
    plan_processes: Annotated[int, Field(ge=1, le=64)] | Literal["auto"] = Field(
        1, description="processes that plan the accounts, each a span of them end to end "
        "(auto: one per core); the plan file is the same (docs/running.md)")


class AnalyticsSettings(_Strict):
    """``analytics:`` — what the analytics job writes to Salesforce (docs/analytics.md)."""

    currency: str | None = Field(
        default=None, min_length=3, max_length=3,
        description="reporting currency (ISO code); default the org's corporate currency")
    grain: Literal["month", "quarter"] = Field(
        default="month", description="periods of the metric and snapshot rows")
    metric_months: int = Field(
        default=24, ge=1, le=240,
        description="months of metric periods kept up to this month (older rows are deleted)")
    snapshot_weeks: int = Field(
        default=104, ge=1, le=1040,
        description="weekly forecast snapshots kept (older rows are deleted)")
    per_currency: bool = Field(
        default=True,
        description="also write the whole book's metric rows in each renewal's own currency")
    risk_levels: list[str] = Field(
        default_factory=lambda: ["High"],
        description="risk levels counted as at risk in the snapshots")


@dataclass(frozen=True)
class AppConfig:
    """A valid configuration: every section, resolved and typed.

    ``base_dir`` is the config file's folder: relative paths in the file are relative
    to it. ``fingerprint`` changes when the config or the mapping file changes, so a
    saved plan can tell it was made under another configuration.
    """

    path: Path
    base_dir: Path
    salesforce: SalesforceConfig
    store_url: str
    state_dir: Path
    mapping_path: Path
    mapping: MappingFile
    rules: RulesPolicy
    run: RunSettings
    fingerprint: str
    analytics: AnalyticsSettings = field(default_factory=AnalyticsSettings)
    queue: QueueSettings = field(default_factory=QueueSettings)

    def with_salesforce(self, **changes: Any) -> AppConfig:
        """A copy with some ``salesforce:`` settings replaced (e.g. the demo's data dir)."""
        return replace(self, salesforce=self.salesforce.model_copy(update=changes))


def _section(document: dict[str, Any], name: str) -> Any:
    value = document.get(name)
    return {} if value is None else value


def _resolve(base: Path, value: str | Path) -> Path:
    path = Path(value)
    return path if path.is_absolute() else base / path


def _validate(model: type[BaseModel], data: Any, index: LocationIndex, name: str,
              errors: list[SourceError]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors.extend(validation_errors(exc, index, prefix=(name,), model=model,
                                        reference="config.example.yaml"))
        return None


def _state_dir(document: dict[str, Any], index: LocationIndex, base: Path,
               errors: list[SourceError]) -> Path:
    state_raw = document.get("state_dir", DEFAULT_STATE_DIR)
    if not isinstance(state_raw, str) or not state_raw:
        errors.append(index.error(("state_dir",), "must be a folder path"))
        state_raw = DEFAULT_STATE_DIR
    return _resolve(base, state_raw)


def _salesforce_data(document: dict[str, Any], base: Path, state_dir: Path) -> Any:
    """The ``salesforce:`` section with the local org's data dir resolved: relative to
    the config file, by default ``<state_dir>/localorg``."""
    sf_data = _section(document, "salesforce")
    if isinstance(sf_data, dict) and sf_data.get("target") == "local" \
            and "local_data_dir" not in sf_data:
        sf_data = {**sf_data, "local_data_dir": str(state_dir / "localorg")}
    elif isinstance(sf_data, dict) and sf_data.get("local_data_dir"):
        sf_data = {**sf_data, "local_data_dir": str(_resolve(base, sf_data["local_data_dir"]))}
    return sf_data


def mapping_path_of(path: Path | str) -> Path:
    """Only the config's ``mappings:`` file, resolved as :func:`load_config` resolves it
    (relative to the config's folder; the default when absent): for commands that need
    only the mapping, such as ``mappings check``, from any folder.

    Raises YamlSourceError (with file:line:col) when the key is not a path."""
    path = Path(path)
    document, index = load(path)
    raw = document.get("mappings", DEFAULT_MAPPING) if isinstance(document, dict) \
        else DEFAULT_MAPPING
    if not isinstance(raw, str) or not raw:
        raise YamlSourceError([index.error(("mappings",), "must be the path of a mapping file")])
    return _resolve(path.parent.resolve(), raw)


def load_salesforce(path: Path | str) -> SalesforceConfig:
    """Only the config's ``salesforce:`` section, read as :func:`load_config` reads it
    (its state_dir decides where the local org is): for commands that need only the org,
    such as ``mappings check --org``, whatever the rest of the file holds."""
    path = Path(path)
    document, index = load(path)
    if not isinstance(document, dict):
        document = {}
    base = path.parent.resolve()
    errors: list[SourceError] = []
    state_dir = _state_dir(document, index, base, errors)
    salesforce = _validate(SalesforceConfig, _salesforce_data(document, base, state_dir),
                           index, "salesforce", errors)
    if errors or not isinstance(salesforce, SalesforceConfig):
        raise YamlSourceError(errors)
    return salesforce


def _unknown_section(key: Any) -> str:
    close = difflib.get_close_matches(str(key), sorted(SECTIONS), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown section ({hint}allowed: {', '.join(sorted(SECTIONS))})"


def load_config(path: Path | str) -> AppConfig:
    """Read and validate the config at ``path``; raise YamlSourceError listing every mistake."""
    path = Path(path)
    document, index = load(path)
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise YamlSourceError([index.error((), "the config file must be a mapping")])
    base = path.parent.resolve()
    errors: list[SourceError] = [index.error((key,), _unknown_section(key))
                                 for key in document if key not in SECTIONS]
    state_dir = _state_dir(document, index, base, errors)
    salesforce = _validate(SalesforceConfig, _salesforce_data(document, base, state_dir),
                           index, "salesforce", errors)
    store = _validate(StoreSettings, _section(document, "store"), index, "store", errors)
    run = _validate(RunSettings, _section(document, "run"), index, "run", errors)
    analytics = _validate(AnalyticsSettings, _section(document, "analytics"), index,
                          "analytics", errors)
    queue = _validate(QueueSettings, _section(document, "queue"), index, "queue", errors)

    rules: RulesPolicy | None = None
    try:
        rules = rules_from_document(document, index)
    except YamlSourceError as exc:
        errors.extend(exc.errors)

    mapping_raw = document.get("mappings", DEFAULT_MAPPING)
    mapping: MappingFile | None = None
    mapping_path = _resolve(base, DEFAULT_MAPPING)
    mapping_text = b""
    if not isinstance(mapping_raw, str) or not mapping_raw:
        errors.append(index.error(("mappings",), "must be the path of a mapping file"))
    else:
        mapping_path = _resolve(base, mapping_raw)
        if not mapping_path.exists():
            errors.append(index.error(("mappings",), f"no mapping file at {mapping_path}"))
        else:
            try:
                mapping = load_mapping(mapping_path).model
                mapping_text = mapping_path.read_bytes()
            except YamlSourceError as exc:
                errors.extend(exc.errors)
    if errors or salesforce is None or store is None or run is None or rules is None \
            or mapping is None or analytics is None or queue is None:
        raise YamlSourceError(errors)
    store_url = store.url or f"sqlite:///{state_dir / STORE_FILE}"
    digest = hashlib.sha256(path.read_bytes() + b"\0" + mapping_text).hexdigest()[:16]
    return AppConfig(path=path, base_dir=base, salesforce=salesforce, store_url=store_url,
                     state_dir=state_dir, mapping_path=mapping_path, mapping=mapping,
                     rules=rules, run=run, fingerprint=digest, analytics=analytics,
                     queue=queue)
