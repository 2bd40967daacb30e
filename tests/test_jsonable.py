"""What a job sends: numpy values as plain JSON, the same whether an array takes the one-call path or not."""
import json

import numpy
import pytest

from vilvik_sandbox.channel import jsonable


def element_by_element(value):
    """The reference: every element converted on its own."""
    if isinstance(value, numpy.ndarray):
        return [element_by_element(item) for item in value]
    return jsonable(value.item() if isinstance(value, numpy.generic) else value)


@pytest.mark.parametrize("array", [
    numpy.array([1.0, -2.5, 1e-308]),
    numpy.array([[1.0, numpy.nan], [numpy.inf, -numpy.inf]]),
    numpy.array([2 ** 60, 1]),
    numpy.array([-2 ** 60, 3]),
    numpy.array([2 ** 53, -2 ** 53]),
    numpy.array([], dtype=float),
    numpy.array([True, False]),
    numpy.array([[1, 2], [3, 4]], dtype=numpy.uint8),
    numpy.array([0.1], dtype=numpy.float32),
    numpy.arange(500, dtype=float).reshape(50, 10) / 7,
])
def test_an_array_is_sent_as_its_elements_one_by_one_would_be(array):
    sent = jsonable(array)
    assert sent == element_by_element(array)
    assert json.loads(json.dumps(sent, allow_nan=False)) == sent  # plain JSON: no NaN, no numpy types


def test_non_finite_values_and_huge_integers_are_never_sent_as_numbers():
    assert jsonable(numpy.array([numpy.nan, numpy.inf])) == ["NaN", "Infinity"]
    assert jsonable(numpy.array([2 ** 60])) == [float(2 ** 60)]
