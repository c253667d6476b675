"""Implementations under test written by the tests themselves."""

import textwrap


def write_module(folder, source, name="impl_under_test"):
    """Write `source` (dedented) as folder/name.py; its path as a string."""
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return str(path)
