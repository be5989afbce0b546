"""Which stopped run a request may continue, and what to say when it may not.

Checked before anything is read from the org or written: the run's kind (a plan writes
nothing; a backfill keeps its window and resumes with ``sfrenew backfill``), its status,
and the configuration it started with (its fingerprint, and per file a path and digest
so a refusal names the file that changed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sfrenew.config import AppConfig
from sfrenew.store import Run, RunKind, RunStatus

# Which runs a request of each kind may continue: a plan writes nothing (nothing to
# resume), a rollback is rerun, a backfill is resumed by ``sfrenew backfill`` (its window
# is saved on the run), a scheduled job's run by ``apply`` like an apply.
RESUMES = {RunKind.APPLY: frozenset({RunKind.APPLY, RunKind.RUN}),
           RunKind.RUN: frozenset({RunKind.APPLY, RunKind.RUN}),
           RunKind.BACKFILL: frozenset({RunKind.BACKFILL})}
HOW_TO_RESUME = {RunKind.PLAN: "a plan writes nothing, so there is nothing to resume: run "
                               "`sfrenew plan` again",
                 RunKind.ROLLBACK: "run the same `sfrenew rollback` again (it undoes what is "
                                   "left)",
                 RunKind.BACKFILL: "resume it with `sfrenew backfill --resume {run_id}`",
                 RunKind.PULL: "a pull is not resumed: the next run pulls from its watermarks",
                 RunKind.APPLY: "resume it with `sfrenew apply --resume {run_id}`",
                 RunKind.RUN: "resume it with `sfrenew apply --resume {run_id}`"}


class NotResumable(Exception):
    """The run asked for cannot be resumed by this request; the message says why and what
    to do instead. Raised before anything is read or written."""


def config_identity(config: AppConfig) -> dict[str, str]:
    """What the run's ``fingerprint`` is made of, saved on the run so a refused resume can
    say which file changed: each file's path and a digest of its bytes."""
    def digest(path: Path) -> str:
        try:
            return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        except OSError:
            return ""
    return {"config_file": str(config.path.resolve()), "config_digest": digest(config.path),
            "mapping_file": str(config.mapping_path.resolve()),
            "mapping_digest": digest(config.mapping_path)}


def config_differences(saved: Mapping[str, Any], config: AppConfig) -> list[str]:
    """How ``config`` differs from the one a run started with (empty: the same).

    Runs saved before the per-file digests compare the fingerprint alone; runs saved
    before the fingerprint cannot be compared (they resume, as before)."""
    if saved.get("fingerprint") in (None, config.fingerprint):
        return []
    now = config_identity(config)
    if "config_digest" not in saved:
        return [f"the config or its mapping file changed since the run started (fingerprint "
                f"{saved.get('fingerprint')}, now {config.fingerprint})"]
    out = []
    for what, file_key, digest_key in (("config file", "config_file", "config_digest"),
                                       ("mapping file", "mapping_file", "mapping_digest")):
        if saved.get(file_key) != now[file_key]:
            out.append(f"the {what} was {saved.get(file_key)}, now {now[file_key]}")
        elif saved.get(digest_key) != now[digest_key]:
            out.append(f"the {what} {now[file_key]} was changed since the run started")
    return out or [f"the configuration differs (fingerprint {saved.get('fingerprint')}, now "
                   f"{config.fingerprint})"]


def resume_hint(kind: RunKind, run_id: str) -> str:
    """What to do with a run of ``kind`` that stopped (for its message)."""
    return HOW_TO_RESUME[kind].format(run_id=run_id)


def check_resumable(prior: Run, *, request_kind: RunKind, config: AppConfig) -> None:
    """Refuse (:class:`NotResumable`) a run a request of ``request_kind`` cannot continue
    under ``config``: its kind, its status, or another configuration."""
    run_id, kind = prior.run_id, prior.kind
    if kind not in RESUMES.get(request_kind, frozenset()):
        raise NotResumable(f"cannot resume {run_id}: it is a {kind.value} run; "
                           f"{resume_hint(kind, run_id)}")
    if prior.status not in (RunStatus.STOPPED, RunStatus.INTERRUPTED):
        why = {RunStatus.SUCCEEDED: "it finished: there is nothing left to do",
               RunStatus.FAILED: f"it failed ({prior.error}); fix the cause and start a new "
                                 "run"}.get(prior.status, f"it is {prior.status.value}")
        raise NotResumable(f"cannot resume {run_id}: {why}")
    differences = config_differences(prior.params, config)
    if differences:
        raise NotResumable(
            f"cannot resume {run_id} with this configuration: " + "; ".join(differences)
            + ". Resume it with the config it started with, or start a new run.")
