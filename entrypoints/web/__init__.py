"""The web pages: one more entrypoint over the same use cases as the HTTP API (server-rendered, plain forms,
POST-redirect-GET; our own small CSS and JavaScript only improve them)."""
