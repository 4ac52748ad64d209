"""Grounded answers: facts about this machine first, the model explains."""
