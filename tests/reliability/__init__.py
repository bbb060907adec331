"""Reliability and security suite (issue 8): faults, load and bad input, with nothing lost."""
