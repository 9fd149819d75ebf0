"""crypto.dlog: bounded discrete logarithms by baby-step giant-step."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crypto.dlog as dlog_module
from crypto.dlog import DEFAULT_BOUND, DlogTable, discrete_log
from crypto.errors import DiscreteLogNotFound, InvalidScalar
from crypto.group import G, Point, Q, base_mul

# perfect squares, squares ± 1, primes, powers of two and the smallest bounds
BOUNDS = [1, 2, 3, 4, 5, 9, 10, 16, 17, 99, 100, 101, 1000, 1024, 4099, 12345]


@pytest.fixture(scope="module")
def tables():
    return {bound: DlogTable(bound) for bound in BOUNDS}


@pytest.mark.parametrize("bound", BOUNDS)
def test_edges_are_found(tables, bound):
    table = tables[bound]
    expected = sorted({0, 1, bound - 1, bound // 2, table.step, table.step - 1, table.step + 1})
    for m in expected:
        if 0 <= m < bound:
            assert table.solve(base_mul(m)) == m


@pytest.mark.parametrize("bound", [b for b in BOUNDS if b <= 1100])
def test_every_value_below_small_bounds(tables, bound):
    table = tables[bound]
    point = Point.identity()
    for m in range(bound):
        assert table.solve(point) == m
        point = point + G


@pytest.mark.parametrize("bound", BOUNDS)
def test_bound_and_beyond_are_not_found(tables, bound):
    table = tables[bound]
    for m in (bound, bound + 1, bound + table.step, 2 * bound + 3, Q - 1, Q - bound):
        with pytest.raises(DiscreteLogNotFound):
            table.solve(base_mul(m))


@given(st.integers(1, 10**6), st.data())
@settings(max_examples=40, deadline=None)
def test_random_values(bound, data):
    m = data.draw(st.integers(0, bound - 1))
    assert discrete_log(base_mul(m), bound) == m
    beyond = data.draw(st.integers(bound, 2**64))
    with pytest.raises(DiscreteLogNotFound):
        discrete_log(base_mul(beyond), bound)


def test_negative_values_are_not_found(tables):
    """−m·G has the same x-coordinate as m·G (the table keys): the full-point check rejects it."""
    table = tables[12345]
    for m in (1, 2, table.step, 100):
        with pytest.raises(DiscreteLogNotFound):
            table.solve(-base_mul(m))


def test_table_is_reused():
    bound = 77_777
    dlog_module._tables.pop(bound, None)
    assert discrete_log(base_mul(5), bound) == 5
    table = dlog_module._tables[bound]
    assert discrete_log(base_mul(77_776), bound) == 77_776
    assert dlog_module._tables[bound] is table
    assert table.solve(base_mul(1234)) == 1234
    assert table.solve(base_mul(1234)) == 1234  # solving does not change the table
    assert table.bound == bound and table.step == 279  # ⌈√77777⌉


def test_default_bound():
    assert DEFAULT_BOUND == 10**8
    assert discrete_log(base_mul(123_456)) == 123_456
    assert discrete_log(Point.identity()) == 0


@pytest.mark.parametrize("bound", [0, -1, 2**48 + 1, 1.5, "100", None])
def test_bad_bounds(bound):
    with pytest.raises(InvalidScalar):
        DlogTable(bound)
