"""A deployment: the orgs one set of workers serves, one config file each, one queue.

``sfrenew worker --config acme.yaml --config globex.yaml`` serves both orgs. Each file
is a complete sfrenew config (its own ``salesforce:``, its own PostgreSQL ``store:``)
with a ``queue:`` section naming the org and, when the queue is not in the org's own
store, the queue's database. Checked before any worker starts, every mistake at once,
each located as ``FILE:LINE:COL``:

* every store is PostgreSQL (workers on several machines share it);
* every config names the same queue (``queue.url``, default ``store.url``);
* org names are unique, and no two orgs share a store (their ledgers would mix).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import make_url

from sfrenew.config import AppConfig, QueueSettings, load_config
from sfrenew.jobs import JobSpec, load_jobs
from sfrenew.store import normalise_url
from sfrenew.yamlsource import SourceError, YamlSourceError, load


@dataclass(frozen=True)
class OrgDeployment:
    """One org: its config and its jobs."""

    name: str
    config: AppConfig
    jobs: tuple[JobSpec, ...]

    def job(self, name: str) -> JobSpec | None:
        """The org's job called ``name``."""
        return next((j for j in self.jobs if j.name == name), None)


@dataclass(frozen=True)
class Deployment:
    """The orgs served and the queue's database URL."""

    queue_url: str
    orgs: Mapping[str, OrgDeployment]

    @property
    def queue_settings(self) -> QueueSettings:
        """The queue-wide settings (heartbeat, stalled bound), from the first org's config."""
        return next(iter(self.orgs.values())).config.queue

    def with_jobs(self, org: str, jobs: tuple[JobSpec, ...]) -> Deployment:
        """A copy where ``org`` has these jobs."""
        return replace(self, orgs={**self.orgs, org: replace(self.orgs[org], jobs=jobs)})

    def org(self, name: str) -> OrgDeployment:
        """The org called ``name`` (KeyError naming the orgs served)."""
        try:
            return self.orgs[name]
        except KeyError:
            raise KeyError(f"org {name!r} is not served here (served: "
                           f"{', '.join(sorted(self.orgs))})") from None


def queue_url(config: AppConfig) -> str:
    """Where the org's queue lives: ``queue.url``, else its store."""
    return normalise_url(config.queue.url or config.store_url)


def _same_database(a: str, b: str) -> bool:
    return make_url(a).render_as_string(hide_password=True) \
        == make_url(b).render_as_string(hide_password=True)


def load_deployment(paths: Sequence[Path]) -> Deployment:
    """Load and cross-check the configs (and each org's jobs); raise YamlSourceError with
    every mistake of every file."""
    errors: list[SourceError] = []
    orgs: dict[str, OrgDeployment] = {}
    first_queue: tuple[str, Path] | None = None
    stores: dict[str, str] = {}
    for path in paths:
        try:
            config = load_config(path)
        except YamlSourceError as exc:
            errors.extend(exc.errors)
            continue
        _, index = load(path)
        org = config.queue.org
        if org in orgs:
            errors.append(index.error(("queue", "org"), f"org {org!r} is also the org of "
                                      f"{orgs[org].config.path}: give each org its own name"))
            continue
        if not normalise_url(config.store_url).startswith("postgresql"):
            errors.append(index.error(("store", "url"), "the job queue and its workers need a "
                                      "PostgreSQL store (postgresql+psycopg://…); SQLite runs "
                                      "one process: use `sfrenew run`"))
        url = queue_url(config)
        if not url.startswith("postgresql"):
            errors.append(index.error(("queue", "url"), "the job queue needs PostgreSQL"))
        elif first_queue is None:
            first_queue = (url, path)
        elif not _same_database(first_queue[0], url):
            errors.append(index.error(("queue", "url"), f"every org of a deployment uses one "
                                      f"queue; {first_queue[1]} names "
                                      f"{make_url(first_queue[0]).render_as_string()}"))
        store_key = make_url(normalise_url(config.store_url)).render_as_string()
        if store_key in stores and len(paths) > 1:
            errors.append(index.error(("store", "url"), f"org {stores[store_key]!r} uses this "
                                      "store too: each org needs its own database or schema"))
        stores.setdefault(store_key, org)
        jobs_dir = Path(config.queue.jobs_dir)
        jobs_dir = jobs_dir if jobs_dir.is_absolute() else config.base_dir / jobs_dir
        try:
            jobs = tuple(load_jobs(jobs_dir))
        except YamlSourceError as exc:
            errors.extend(exc.errors)
            jobs = ()
        orgs[org] = OrgDeployment(name=org, config=config, jobs=jobs)
    if errors or first_queue is None:
        raise YamlSourceError(errors or [SourceError("", 1, 1, "", "no config given")])
    return Deployment(queue_url=first_queue[0], orgs=orgs)
