"""A private copy of the reference package with one source change: how a
catalogued bug computes what it outputs. The copy is built in memory
under its own package name (the reference imports its siblings
relatively), so the changed function is the one every other function of
the copy calls, exactly as in a user's code with that bug, and the real
reference is untouched.
"""

import functools
import importlib.abc
import importlib.util
import sys
from pathlib import Path

import reference

REFERENCE_DIR = Path(reference.__file__).parent


class PatchError(ValueError):
    """A change whose text does not occur exactly once in its file."""


@functools.cache
def patched_reference(file, old, new):
    """The reference package with `old` replaced by `new` in `file`."""
    sources = {path.stem: path.read_text() for path in REFERENCE_DIR.glob("*.py")}
    stem = Path(file).stem
    count = sources.get(stem, "").count(old)
    if count != 1:
        raise PatchError(f"reference/{file}: the text to change occurs {count} times, not once: {old!r}")
    sources[stem] = sources[stem].replace(old, new)
    name = f"_reference_with_bug_{abs(hash((file, old, new))):x}"
    finder = _InMemory(name, sources)
    sys.meta_path.insert(0, finder)
    try:
        return importlib.import_module(name)
    finally:
        sys.meta_path.remove(finder)
        for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[module]  # the package object keeps what it needs


class _InMemory(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, package, sources):
        self.package, self.sources = package, sources

    def find_spec(self, fullname, path=None, target=None):
        if fullname == self.package:
            return importlib.util.spec_from_loader(fullname, self, is_package=True)
        stem = fullname.removeprefix(self.package + ".")
        if fullname.startswith(self.package + ".") and stem in self.sources:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        stem = "__init__" if module.__name__ == self.package else module.__name__.rpartition(".")[2]
        if stem == "__init__":
            module.__path__ = []
        exec(_compiled(stem, self.sources[stem]), module.__dict__)  # noqa: S102 (the reference's own source, changed by the catalogue)


@functools.cache
def _compiled(stem, source):
    """A file's code, compiled once per text: the files a bug leaves as they
    are compile to the same code for every bug."""
    return compile(source, f"<reference/{stem}.py with a catalogued bug>", "exec")
