"""The one retry policy: a frozen value, turned into a tenacity ``Retrying`` in one place.

Only :class:`~sfrenew.salesforce.errors.TransientError` is retried. Attempts and total
time are both bounded; waits grow exponentially with jitter so a fleet of workers does
not retry in lockstep. ``sleep`` is injectable so tests run the real policy with zero
wait, and the same value paces the rounds of per-row lock retries.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_random,
)

from sfrenew.salesforce.errors import TransientError

Sleep = Callable[[float], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried.

    ``attempts`` counts the first try; ``max_seconds`` bounds the total time spent
    retrying one call; ``lock_retry_rounds`` bounds how often rows that failed with
    ``UNABLE_TO_LOCK_ROW`` are sent again (each round in batches half the size).
    """

    attempts: int = 5
    max_seconds: float = 300.0
    initial_wait: float = 1.0
    max_wait: float = 60.0
    jitter: float = 1.0
    lock_retry_rounds: int = 3
    sleep: Sleep = field(default=time.sleep, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.max_seconds <= 0 or self.initial_wait < 0 or self.max_wait < 0:
            raise ValueError("retry times must be positive")

    @classmethod
    def no_wait(cls, *, attempts: int = 5, lock_retry_rounds: int = 3) -> RetryPolicy:
        """The same policy without waiting (tests, the local org)."""
        return cls(attempts=attempts, initial_wait=0.0, max_wait=0.0, jitter=0.0,
                   lock_retry_rounds=lock_retry_rounds, sleep=lambda _s: None)

    def retrying(self, *, idempotent: bool = True) -> Retrying:
        """A fresh tenacity controller for one logical call.

        A call that is not ``idempotent`` (a plain insert) is only retried when the
        failure proves nothing was done (503, a refused connection, a lock or limit).
        """
        def retriable(exc: BaseException) -> bool:
            return isinstance(exc, TransientError) and (idempotent or not exc.ambiguous)

        return Retrying(
            retry=retry_if_exception(retriable),
            stop=stop_after_attempt(self.attempts) | stop_after_delay(self.max_seconds),
            # Exponential backoff plus random jitter (both exist across tenacity 8 and 9).
            wait=wait_exponential(multiplier=self.initial_wait, max=self.max_wait)
            + wait_random(0, self.jitter),
            sleep=self.sleep,
            reraise=True,
        )

    def pause_before_round(self, round_number: int) -> None:
        """Wait before lock-retry round ``round_number`` (1-based), same backoff as calls."""
        self.sleep(min(self.max_wait, self.initial_wait * 2 ** (round_number - 1)))
