"""Suite-wide setup: the clock is pinned to the test date before any test runs."""

from tests.clock import pin_clock

pin_clock()
