"""The suite's own engines: the pure-Python reference (reference/), and
vectorized NumPy, scipy.signal and torch versions of every op; `run`
computes one op on any of them. Nothing here knows about conformance."""

from oracle.engines.run import ENGINES, Backend, cuda_available, run, torch_available

__all__ = ["ENGINES", "Backend", "cuda_available", "run", "torch_available"]
