"""Login throttling: delays that grow with each failure, per client."""
from __future__ import annotations

from appliance.auth.throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_delays_grow_after_the_free_tries_and_are_capped() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock, free=3, base=1.0, cap=60.0)
    delays = [throttle.failure("10.0.0.5") for _ in range(12)]
    assert delays[:3] == [0.0, 0.0, 0.0]
    assert delays[3:8] == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert max(delays) == 60.0
    assert throttle.wait_time("10.0.0.5") == 60.0
    clock.now += 59.5
    assert 0 < throttle.wait_time("10.0.0.5") <= 0.5
    assert throttle.wait_time("10.0.0.6") == 0.0  # another client is not punished


def test_success_and_time_forget_failures() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock, free=1, forget_after=600)
    throttle.failure("a"), throttle.failure("a")
    throttle.success("a")
    assert throttle.wait_time("a") == 0 and throttle.failure("a") == 0.0
    throttle.failure("b"), throttle.failure("b")
    clock.now += 601
    assert throttle.wait_time("b") == 0.0 and throttle.failure("b") == 0.0


def test_memory_is_bounded() -> None:
    throttle = LoginThrottle(max_clients=100)
    for i in range(1000):
        throttle.failure(f"client-{i}")
    assert len(throttle._records) == 100
