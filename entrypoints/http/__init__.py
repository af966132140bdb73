"""The HTTP API (docs/http-api.md); entrypoints/asgi.py mounts it with the pages (`create_app(container)`)."""
