"""Sync (DESIGN §5, §6): push the outbox in one batch, verify every envelope, merge; pull accounts and prices."""
