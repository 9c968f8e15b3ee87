"""CounterRates: counter readings to per-second rates, resets, wraps, reboots, discontinuities, forgetting keys."""

from __future__ import annotations

import pytest

from collectors.counters import UPTIME_WRAP_SLACK_SECONDS, CounterRates, is_uptime_wrap

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


def test_counter64_delta_near_2_64_is_exact_where_float_subtraction_loses_it() -> None:
    rates: CounterRates[tuple[str, str]] = CounterRates()
    old, new = 2**64 - 3000, 2**64 - 2000
    # Both round to the same float (2**64 - 2048): a float delta would be 0.
    assert float(new) - float(old) == 0.0
    rates.rate(KEY, old, 100.0, wrap=2**64)

    assert rates.rate(KEY, new, 101.0, wrap=2**64) == 1000.0
    assert (rates.wraps, rates.resets, rates.discontinuities) == (0, 0, 0)


def test_counter64_wrapped_delta_near_2_64_is_exact() -> None:
    rates: CounterRates[tuple[str, str]] = CounterRates()
    old, new = 2**64 - 999, 1
    # float(old) == 2**64, so a float wrapped delta would be 0 instead of 1000.
    assert float(new) + 2.0**64 - float(old) == 0.0
    rates.rate(KEY, old, 100.0, wrap=2**64)

    assert rates.rate(KEY, new, 101.0, wrap=2**64) == 1000.0
    assert rates.wraps == 1


def test_counter64_rate_divides_the_exact_int_delta() -> None:
    rates: CounterRates[tuple[str, str]] = CounterRates()
    rates.rate(KEY, 2**63 + 1, 0.0, wrap=2**64)

    # Delta 2**53 + 1 is exact as an int; the rate is its correctly rounded quotient.
    assert rates.rate(KEY, 2**63 + 2**53 + 2, 2.0, wrap=2**64) == (2**53 + 1) / 2.0


def test_counter32_wrap_just_under_half_the_range_gives_wrapped_delta() -> None:
    rates: CounterRates[tuple[str, str]] = CounterRates()
    rates.rate(KEY, 2**31 + 1, 0.0, wrap=2**32)

    # Wrapped delta 2**31 - 1: the largest still taken as a wrap.
    assert rates.rate(KEY, 0, 1.0, wrap=2**32) == float(2**31 - 1)
    assert (rates.wraps, rates.resets) == (1, 0)


def test_counter64_decrease_far_from_the_top_is_a_reset_not_a_wrap() -> None:
    rates: CounterRates[tuple[str, str]] = CounterRates()
    rates.rate(KEY, 5_000_000_000_000, 0.0, wrap=2**64)

    assert rates.rate(KEY, 1000, 10.0, wrap=2**64) is None
    assert (rates.wraps, rates.resets) == (0, 1)
    assert rates.rate(KEY, 3000, 20.0, wrap=2**64) == 200.0


def test_uptime_backwards_is_a_reboot_without_rate_even_if_the_counter_grew() -> None:
    rates: CounterRates[tuple[str, str]] = CounterRates()
    rates.rate(KEY, 1000, 100.0, wrap=2**32, uptime=86_400.0)

    # The device rebooted 5 s ago and has already counted past the old value.
    assert rates.rate(KEY, 5000, 160.0, wrap=2**32, uptime=5.0) is None
    assert (rates.resets, rates.wraps, rates.discontinuities) == (1, 0, 0)
    assert rates.rate(KEY, 8000, 220.0, wrap=2**32, uptime=65.0) == 50.0
    assert rates.resets == 1


def test_uptime_backwards_with_counter_decrease_counts_one_reset() -> None:
    rates: CounterRates[tuple[str, str]] = CounterRates()
    rates.rate(KEY, 2**32 - 1000, 100.0, wrap=2**32, uptime=86_400.0)

    # Would be a plausible Counter32 wrap, but the reboot decides first.
    assert rates.rate(KEY, 500, 160.0, wrap=2**32, uptime=30.0) is None
    assert (rates.resets, rates.wraps) == (1, 0)


def test_uptime_timeticks_wrap_is_not_a_reboot() -> None:
    rates: CounterRates[tuple[str, str]] = CounterRates()
    wrap_point = 2**32 / 100  # 42_949_672.96 s, about 497 days
    rates.rate(KEY, 1000, 100.0, wrap=2**32, uptime=wrap_point - 20.0)

    assert rates.rate(KEY, 7000, 160.0, wrap=2**32, uptime=40.0) == 100.0
    assert (rates.resets, rates.wraps, rates.discontinuities) == (0, 0, 0)


def test_uptime_wrap_rule_allows_slack_beyond_elapsed_and_no_more() -> None:
    wrap_point = 2**32 / 100
    # Advance across the wrap = 20 + 100 = 120 s over 60 s elapsed: within the 60 s slack.
    assert is_uptime_wrap(wrap_point - 20.0, 100.0, 60.0)
    # 20 + 100.5 = 120.5 s: beyond it, a reboot.
    assert not is_uptime_wrap(wrap_point - 20.0, 100.5, 60.0)
    # Far from the wrap point, going backwards is a reboot.
    assert not is_uptime_wrap(1_000_000.0, 10.0, 60.0)
    # Not backwards at all is not a wrap.
    assert not is_uptime_wrap(10.0, 20.0, 60.0)
    assert UPTIME_WRAP_SLACK_SECONDS == 60.0


def test_uptime_backwards_near_the_wrap_point_but_too_far_is_a_reboot() -> None:
    rates: CounterRates[tuple[str, str]] = CounterRates()
    wrap_point = 2**32 / 100
    rates.rate(KEY, 1000, 100.0, uptime=wrap_point - 3600.0)

    assert rates.rate(KEY, 7000, 160.0, uptime=40.0) is None
    assert rates.resets == 1


def test_uptime_forward_or_missing_on_either_reading_is_not_a_reboot() -> None:
    rates: CounterRates[str] = CounterRates()
    rates.rate("a", 0, 0.0, uptime=500.0)
    rates.rate("b", 0, 0.0)

    assert rates.rate("a", 10, 10.0, uptime=510.0) == 1.0
    assert rates.rate("a", 20, 20.0) == 1.0
    assert rates.rate("a", 30, 30.0, uptime=5.0) == 1.0
    assert rates.rate("b", 10, 10.0, uptime=5.0) == 1.0
    assert rates.resets == 0


def test_reboot_is_detected_per_key_from_that_keys_last_reading() -> None:
    rates: CounterRates[str] = CounterRates()
    rates.rate("a", 0, 0.0, uptime=1000.0)
    rates.rate("b", 0, 0.0, uptime=1000.0)
    assert rates.rate("a", 10, 10.0, uptime=5.0) is None

    assert rates.rate("b", 10, 10.0, uptime=5.0) is None
    assert rates.resets == 2


def test_rate_above_max_rate_is_rejected_counted_and_restarts_state() -> None:
    rates: CounterRates[tuple[str, str]] = CounterRates()
    speed_octets = 100_000_000 / 8  # 100 Mbit/s
    rates.rate(KEY, 0, 100.0, max_rate=speed_octets)

    assert rates.rate(KEY, 12_500_001 * 10, 110.0, max_rate=speed_octets) is None
    assert (rates.discontinuities, rates.resets, rates.wraps) == (1, 0, 0)
    assert rates.rate(KEY, 125_000_010 + 1_000_000, 120.0, max_rate=speed_octets) == 100_000.0
    assert rates.discontinuities == 1


def test_rate_equal_to_max_rate_is_accepted() -> None:
    rates: CounterRates[tuple[str, str]] = CounterRates()
    rates.rate(KEY, 0, 0.0, max_rate=1000.0)

    assert rates.rate(KEY, 10_000, 10.0, max_rate=1000.0) == 1000.0
    assert rates.discontinuities == 0


def test_counter32_reset_that_looks_like_a_wrap_is_caught_by_max_rate() -> None:
    rates: CounterRates[tuple[str, str]] = CounterRates()
    # A 10 Mbit/s link (1_250_000 octets/s) whose counter was reset from 3e9 to 1000.
    rates.rate(KEY, 3_000_000_000, 0.0, wrap=2**32, max_rate=1_250_000.0)

    assert rates.rate(KEY, 1000, 60.0, wrap=2**32, max_rate=1_250_000.0) is None
    assert (rates.discontinuities, rates.wraps, rates.resets) == (1, 0, 0)
    assert rates.rate(KEY, 61_000, 120.0, wrap=2**32, max_rate=1_250_000.0) == 1000.0


def test_max_rate_zero_or_negative_raises_before_changing_state() -> None:
    rates: CounterRates[tuple[str, str]] = CounterRates()

    with pytest.raises(ValueError, match=r"^max_rate must be positive or None, got 0\.0$"):
        rates.rate(KEY, 0, 0.0, max_rate=0.0)
    with pytest.raises(ValueError, match=r"^max_rate must be positive or None, got -1\.0$"):
        rates.rate(KEY, 0, 0.0, max_rate=-1.0)
    assert KEY not in rates
