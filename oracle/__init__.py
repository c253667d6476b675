"""Checks for from-scratch CNN/MLP implementations: fixtures, registry, CLI."""

__version__ = "0.1.0"
