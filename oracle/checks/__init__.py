"""Checks of the suite's own engines against each other: agreement within
the tolerance policy, finite differences, whole-network gradients, and the
`compare` matrix."""
