"""Scale-out on PostgreSQL: a procrastinate job queue, workers, and a leader scheduler.

``sfrenew worker`` runs queued jobs (:mod:`sfrenew.queue.tasks`) for the orgs of a
:class:`~sfrenew.queue.deployment.Deployment`; ``sfrenew run`` on PostgreSQL fires the
jobs' triggers on one replica only and defers them (:mod:`sfrenew.queue.leader`).
procrastinate itself is imported by ``_procrastinate`` only; SQLite deployments never
import it (the embedded default stays one process, ``sfrenew.daemon``).
"""

from sfrenew.queue.deployment import Deployment, OrgDeployment, load_deployment, queue_url
from sfrenew.queue.tasks import (
    BACKFILL_CHUNK,
    BACKFILL_PULL,
    RUN_JOB,
    TaskHost,
    backfill_pull_task,
    run_job_task,
)

__all__ = [
    "BACKFILL_CHUNK",
    "BACKFILL_PULL",
    "RUN_JOB",
    "Deployment",
    "OrgDeployment",
    "TaskHost",
    "backfill_pull_task",
    "load_deployment",
    "queue_url",
    "run_job_task",
]
