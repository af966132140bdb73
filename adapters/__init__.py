"""Adapters: each implements application ports over one outside thing."""
