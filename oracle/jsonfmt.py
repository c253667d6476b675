"""Canonical JSON text for fixture files: 2-space indent, a list on one line
when it fits (or holds no list), floats as repr (shortest round-trip), so
rebuilds are byte-identical."""

import json

WIDTH = 88


def _flat(value):
    return not isinstance(value, (list, dict))


def _one_line(value):
    return "[" + ", ".join(_one_line(v) if isinstance(v, list) else _dump(v, 0) for v in value) + "]"


def _dump(value, indent):
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{pad}  {json.dumps(key)}: {_dump(item, indent + 1)}" for key, item in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list):
        if not any(isinstance(item, dict) for item in value):
            line = _one_line(value)
            if all(_flat(item) for item in value) or len(line) + 2 * indent + 24 <= WIDTH:
                return line
        items = [f"{pad}  {_dump(item, indent + 1)}" for item in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def dumps(case):
    return _dump(case, 0) + "\n"
