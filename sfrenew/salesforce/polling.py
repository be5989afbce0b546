"""When to look at a Bulk API 2.0 job again: one frozen policy, one pure function.

Every status poll is an API call, and every second slept after a job finished is a
second the run waits for nothing. The interval therefore follows what is known about
the job: its size before it starts (a job of 20,000 rows is not looked at after 50 ms),
then its progress (``numberRecordsProcessed`` between two polls gives a rate, and the
next poll is due when the rest should be done). Without progress, the interval grows
with the time already waited, so a job that finishes sooner than guessed is noticed
within half the time spent on it, and a long job costs a logarithmic number of polls.
Jobs are polled as a group: one sleep per round, then one status call per job still
running (:class:`sfrenew.salesforce.bulk_group.JobGroup`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PollPolicy:
    """How often Bulk jobs are polled.

    ``min_seconds`` is the shortest interval (0 polls without sleeping: tests),
    ``max_seconds`` the longest; ``rows_per_second`` is the optimistic processing rate
    used to guess a new job's duration from its size (optimistic, so the first poll
    comes early rather than late); ``growth`` is how much of the time already waited
    the next interval may be when progress says nothing.
    """

    min_seconds: float = 0.1
    max_seconds: float = 30.0
    rows_per_second: float = 50_000.0
    growth: float = 0.5

    def __post_init__(self) -> None:
        if self.min_seconds < 0 or self.max_seconds < self.min_seconds:
            raise ValueError("poll intervals must satisfy 0 <= min_seconds <= max_seconds")
        if self.rows_per_second <= 0 or self.growth <= 0:
            raise ValueError("rows_per_second and growth must be positive")

    def next_interval(self, *, waited: float, expected_rows: int | None, processed: int,
                      rate: float | None) -> float:
        """Seconds until the job should be looked at again.

        ``waited``: seconds since the job was started; ``expected_rows``: its size if
        known (rows uploaded, or the caller's estimate of a query's result);
        ``processed``: rows done at the last poll; ``rate``: rows per second observed
        between the last two polls (None when no progress was seen).
        """
        if self.max_seconds == 0:
            return 0.0
        remaining = max((expected_rows or 0) - processed, 0)
        if rate and remaining:
            guess = remaining / rate  # due when the rest should be done
        elif waited == 0 and remaining:
            guess = remaining / self.rows_per_second  # its size, before any progress
        else:
            guess = waited * self.growth  # no news: back off with the time spent
        return min(max(guess, self.min_seconds), self.max_seconds)
