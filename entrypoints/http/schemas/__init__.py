"""The wire, one module per resource (docs/http-api.md): msgspec structs with limits for what comes in, the shapes of
what goes out, and the converters between them and the domain. `common` holds what every resource shares."""
