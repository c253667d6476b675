"""Training parity: the documents' networks as declarative specs, trained
on the reference, NumPy and torch engines in lockstep."""
