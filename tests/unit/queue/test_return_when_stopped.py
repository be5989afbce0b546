"""A job its worker stopped goes back to the queue; any other error fails it."""

from __future__ import annotations

from procrastinate.jobs import Job

from sfrenew.queue._procrastinate import ReturnWhenStopped
from sfrenew.queue.tasks import WorkStopped

JOB = Job(id=7, queue="sfrenew", lock="chunk:b-1:0", queueing_lock=None,
          task_name="sfrenew.backfill_chunk", task_kwargs={"org": "acme"}, attempts=3)


def test_a_stopped_job_is_retried_at_once_however_often_it_was_tried() -> None:
    retry = ReturnWhenStopped().get_retry_exception(WorkStopped("stopping"), JOB)
    assert retry is not None
    decision = retry.retry_decision
    # Same lock, queue and priority (None: unchanged); due now.
    assert (decision.lock, decision.queue, decision.priority) == (None, None, None)
    assert decision.retry_at is not None


def test_any_other_error_is_not_retried() -> None:
    assert ReturnWhenStopped().get_retry_exception(RuntimeError("bug"), JOB) is None
    assert ReturnWhenStopped().get_retry_exception(KeyError("no job"), JOB) is None
