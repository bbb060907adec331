"""Helpers shared by the test suites: real parts started for tests (PostgreSQL, license server, …)."""
