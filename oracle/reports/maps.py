"""Where an output is wrong, as a small map: `.` right, `X` outside
tolerance, one block per channel (of a 4-D output, its first block:
the first sample of a batch, the first kernel's gradient)."""

import numpy as np

MAX_ROWS, MAX_COLUMNS, MAX_CHANNELS = 12, 24, 6


def map_lines(name, mask, indent="      "):
    """Lines drawing a 2-D or 3-D wrong-element mask; [] for other ranks."""
    wrong = np.array(mask, dtype=bool)
    if wrong.ndim == 4:
        wrong, name = wrong[0], f"{name}[0]"
    if wrong.ndim not in (2, 3) or not wrong.any():
        return []
    planes = wrong if wrong.ndim == 3 else wrong[None]
    shown = planes[:MAX_CHANNELS, :MAX_ROWS, :MAX_COLUMNS]
    cut = " (cut to its first rows, columns and channels)" if shown.shape != planes.shape else ""
    by = ", channel by channel" if wrong.ndim == 3 else ""
    lines = [f"{indent}wrong elements of {name} (X: outside tolerance{by}){cut}:"]
    for row in range(shown.shape[1]):
        blocks = ("".join("X" if v else "." for v in plane[row]) for plane in shown)
        lines.append(indent + "  " + "   ".join(blocks))
    return lines
