"""Loopback fakes of external services (Todoist) used by integration tests and benchmarks."""
