"""What the API and the pages share, so neither entrypoint imports the other (ADR 0037)."""
