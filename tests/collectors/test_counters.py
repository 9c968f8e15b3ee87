"""CounterRates: counter readings to per-second rates, resets, wraps and forgetting keys."""

from __future__ import annotations

from collectors.counters import CounterRates

KEY = ("eth0", "in_octets")


def test_first_reading_gives_no_rate() -> None:
    rates: CounterRates[tuple[str, str]] = CounterRates()

    assert rates.rate(KEY, 1000, 100.0) is None
    assert KEY in rates


def test_second_reading_gives_delta_per_second() -> None:
    rates: CounterRates[tuple[str, str]] = CounterRates()
    rates.rate(KEY, 1000, 100.0)

    assert rates.rate(KEY, 4000, 115.0) == 200.0
    assert rates.rate(KEY, 4000, 130.0) == 0.0


def test_keys_are_independent() -> None:
    rates: CounterRates[str] = CounterRates()
    rates.rate("a", 0, 0.0)
    rates.rate("b", 100, 0.0)

    assert rates.rate("a", 10, 10.0) == 1.0
    assert rates.rate("b", 300, 10.0) == 20.0


def test_decrease_is_reset_without_rate_and_restarts_from_new_reading() -> None:
    rates: CounterRates[tuple[str, str]] = CounterRates()
    rates.rate(KEY, 5000, 100.0)

    assert rates.rate(KEY, 300, 115.0) is None
    assert rates.resets == 1
    assert rates.rate(KEY, 600, 130.0) == 20.0
    assert rates.resets == 1


def test_zero_or_negative_elapsed_time_gives_no_rate_and_restarts() -> None:
    rates: CounterRates[tuple[str, str]] = CounterRates()
    rates.rate(KEY, 100, 100.0)

    assert rates.rate(KEY, 200, 100.0) is None
    assert rates.rate(KEY, 300, 90.0) is None
    assert rates.rate(KEY, 330, 100.0) == 3.0
    assert rates.resets == 0


def test_plausible_wrap_of_32_bit_counter_gives_wrapped_delta() -> None:
    rates: CounterRates[tuple[str, str]] = CounterRates()
    rates.rate(KEY, 2**32 - 1000, 100.0, wrap=2**32)

    assert rates.rate(KEY, 500, 110.0, wrap=2**32) == 150.0
    assert (rates.wraps, rates.resets) == (1, 0)


def test_plausible_wrap_of_64_bit_counter_gives_wrapped_delta() -> None:
    rates: CounterRates[tuple[str, str]] = CounterRates()
    rates.rate(KEY, 2**64 - 10, 0.0, wrap=2**64)

    assert rates.rate(KEY, 10, 4.0, wrap=2**64) == 5.0
    assert rates.wraps == 1


def test_implausible_wrap_is_a_reset() -> None:
    rates: CounterRates[tuple[str, str]] = CounterRates()
    # new + 2**32 - old == 2**31 exactly: not less than half the range, so a reset.
    rates.rate(KEY, 2**31, 100.0, wrap=2**32)

    assert rates.rate(KEY, 0, 110.0, wrap=2**32) is None
    assert (rates.wraps, rates.resets) == (0, 1)
    assert rates.rate(KEY, 1000, 120.0, wrap=2**32) == 100.0


def test_decrease_without_wrap_is_a_reset_even_near_the_32_bit_limit() -> None:
    rates: CounterRates[tuple[str, str]] = CounterRates()
    rates.rate(KEY, 2**32 - 1000, 100.0)

    assert rates.rate(KEY, 500, 110.0) is None
    assert (rates.wraps, rates.resets) == (0, 1)


def test_forget_drops_only_the_given_keys() -> None:
    rates: CounterRates[str] = CounterRates()
    for key in ("a", "b", "c"):
        rates.rate(key, 0, 0.0)

    rates.forget(["a", "missing"])

    assert len(rates) == 2
    assert rates.rate("a", 10, 10.0) is None
    assert rates.rate("b", 10, 10.0) == 1.0


def test_retain_drops_every_key_not_given() -> None:
    rates: CounterRates[str] = CounterRates()
    for key in ("a", "b", "c"):
        rates.rate(key, 0, 0.0)

    rates.retain(["b", "missing"])

    assert len(rates) == 1
    assert "b" in rates
    assert rates.rate("c", 10, 10.0) is None
    assert rates.rate("b", 10, 10.0) == 1.0
