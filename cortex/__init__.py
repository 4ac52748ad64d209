"""Cortex: an AI layer for a Linux machine."""

__version__ = "0.1.0"
