"""Entrypoints: the composition root, the HTTP API and the command line. Framework types stop here."""
