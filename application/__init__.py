"""Ports and use cases. Knows the domain; knows no framework, database or HTTP client."""
