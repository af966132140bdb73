"""One use case per module: a class with an `execute` method taking the acting user and an explicit request."""
