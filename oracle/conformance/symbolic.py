"""Polynomials over named symbols, for the documents' element-by-element
expansions ("b11 + k11*x11 + k12*x12 ...").

A case's inputs hold symbol names; binding each name to a random number
turns the case numeric. Two polynomials that differ in any term almost
surely differ at a random point, so comparing values pins every term.
"""

import random
import re

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|([A-Za-z_][A-Za-z_0-9]*)|([-+*]))")


def parse(text):
    """A list of (coefficient, [symbols]) terms; raises ValueError if malformed."""
    terms, sign, factors, coefficient = [], 1.0, [], 1.0
    expect_factor = True
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise ValueError(f"polynomial {text!r}: unexpected character at position {position}")
        number, symbol, operator = match.groups()
        position = match.end()
        if expect_factor:
            if operator in ("+", "-") and not factors:
                sign *= -1.0 if operator == "-" else 1.0
                continue
            if number is not None:
                coefficient *= float(number)
            elif symbol is not None:
                factors.append(symbol)
            else:
                raise ValueError(f"polynomial {text!r}: operator {operator!r} where a factor belongs")
            expect_factor = False
        elif operator == "*":
            expect_factor = True
        elif operator in ("+", "-"):
            terms.append((sign * coefficient, factors))
            sign, factors, coefficient = (-1.0 if operator == "-" else 1.0), [], 1.0
            expect_factor = True
        else:
            raise ValueError(f"polynomial {text!r}: missing operator before {match.group().strip()!r}")
    if expect_factor:
        raise ValueError(f"polynomial {text!r}: ends without a factor")
    terms.append((sign * coefficient, factors))
    return terms


def evaluate(text, binding):
    total = 0.0
    for coefficient, factors in parse(text):
        value = coefficient
        for name in factors:
            if name not in binding:
                raise ValueError(f"polynomial {text!r}: unknown symbol {name!r}")
            value *= binding[name]
        total += value
    return total


def symbols_in(array):
    """Symbol names used in a nested list of strings and numbers."""
    names, pending = set(), [array]
    while pending:  # no set per element: most cases are thousands of numbers and no symbol
        item = pending.pop()
        if isinstance(item, str):
            names.add(item)
        elif isinstance(item, list):
            pending += item
    return names


def bind(names, seed):
    """Random values in [0.5, 2] with random sign, reproducible from `seed`."""
    rng = random.Random(seed)
    return {name: rng.choice((-1, 1)) * rng.uniform(0.5, 2.0) for name in sorted(names)}


def substitute(array, binding):
    if isinstance(array, str):
        return binding[array]
    if isinstance(array, list):
        return [substitute(item, binding) for item in array]
    return array


def evaluate_all(array, binding):
    """Evaluate every polynomial string in a nested list (None stays None)."""
    if isinstance(array, str):
        return evaluate(array, binding)
    if isinstance(array, list):
        return [evaluate_all(item, binding) for item in array]
    return array
