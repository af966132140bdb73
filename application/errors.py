"""Errors the use cases raise. Each has a stable `code`; the HTTP layer maps the class to a status."""

from __future__ import annotations


class UseCaseError(Exception):
    code: str = "error"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Forbidden(UseCaseError):
    def __init__(self, message: str = "Your role may not do this.") -> None:
        super().__init__("forbidden", message)


class NotFound(UseCaseError):
    """404: the thing named does not exist (`run_not_found`, `no_ticket`, …)."""


class Conflict(UseCaseError):
    """409: the request is valid but the state does not allow it (`mapping_missing`, `time_entries_present`, …)."""


class Unprocessable(UseCaseError):
    """422: the request names something that cannot be used (`unknown_customer`, `company_not_found`, …)."""


class InvalidInput(UseCaseError):
    """400: a value is out of range or malformed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__("invalid_input", message)
        self.field = field


class AutotaskRejected(UseCaseError):
    """502: Autotask answered with an error; its own text is in the message."""

    def __init__(self, message: str) -> None:
        super().__init__("autotask_rejected", message)


class AutotaskPermissionDenied(AutotaskRejected):
    """502: Autotask refused the API user a permission ("not adequate permissions"): the integration's problem, fixed
    in the API user's security level; nothing stored about the data asked for changes."""

    def __init__(self, message: str) -> None:
        UseCaseError.__init__(self, "autotask_permission_denied", message)


class AutotaskUnavailable(UseCaseError):
    """503: Autotask did not answer (timeout, network, throttling)."""

    def __init__(self, message: str) -> None:
        super().__init__("autotask_unavailable", message)


class NotConfigured(UseCaseError):
    """409: the integration is off or lacks credentials."""

    def __init__(self, message: str = "The Autotask integration is not enabled.") -> None:
        super().__init__("integration_disabled", message)
