"""rnnkit._checks: the argument checks every public entry point shares."""
import numpy as np
import pytest

from rnnkit._checks import check_array

F32 = np.dtype(np.float32)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_value_is_named_with_its_index(bad):
    a = np.zeros((2, 3), np.float32)
    a[1, 2] = bad
    with pytest.raises(ValueError, match=r"x: expected finite values, given .* at index \(1, 2\)"):
        check_array("x", a, (None, 3), F32)


def test_integers_are_cast_and_never_non_finite():
    out = check_array("x", np.array([[1, 2]]), (1, 2), F32)
    assert out.dtype == F32 and out.tolist() == [[1.0, 2.0]]


@pytest.mark.parametrize("shape, message", [((2,), r"expected a 2-D array of shape \(\*, 3\), given shape \(2,\)"),
                                            ((2, 4), r"expected shape \(\*, 3\), given shape \(2, 4\)")])
def test_a_wrong_shape_is_refused_by_name(shape, message):
    with pytest.raises(ValueError, match="x: " + message):
        check_array("x", np.zeros(shape), (None, 3), F32)


def test_non_numeric_input_is_refused():
    with pytest.raises(ValueError, match="x: expected a numeric array, given dtype <U1"):
        check_array("x", np.array(["a"]), (1,), F32)
