"""Conformance of an implementation under test: fixture cases, the
isolated worker that runs the implementation, judging and reports."""
