import pytest

from oracle.conformance import symbolic


def test_parse_and_evaluate():
    binding = {"a": 2.0, "b": 3.0, "c": -1.0}
    assert symbolic.evaluate("a*b + c", binding) == 5.0
    assert symbolic.evaluate("-a*b - 2*c", binding) == -4.0
    assert symbolic.evaluate("0.5*a", binding) == 1.0
    assert symbolic.parse("b11 + k11*x11") == [(1.0, ["b11"]), (1.0, ["k11", "x11"])]


@pytest.mark.parametrize(
    "text, problem",
    [
        ("a +", "ends without a factor"),
        ("a * * b", "where a factor belongs"),
        ("a b", "missing operator"),
        ("a / b", "unexpected character"),
    ],
)
def test_malformed_polynomials_are_named(text, problem):
    with pytest.raises(ValueError, match=problem):
        symbolic.parse(text)


def test_unknown_symbol_is_named():
    with pytest.raises(ValueError, match="unknown symbol 'z'"):
        symbolic.evaluate("a*z", {"a": 1.0})


def test_binding_is_reproducible_and_nonzero():
    first, second = symbolic.bind({"a", "b"}, "seed"), symbolic.bind({"b", "a"}, "seed")
    assert first == second
    assert all(0.5 <= abs(v) <= 2.0 for v in first.values())
