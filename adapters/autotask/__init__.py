"""The real Autotask PSA: the PSA port over Autotask's REST API v1.0 with httpx."""

from adapters.autotask.connector import LOGGER_NAME, PRODUCTION_DISCOVERY, SANDBOX_DISCOVERY, AutotaskConnector
from adapters.autotask.gateway import AutotaskGateway

__all__ = ["LOGGER_NAME", "PRODUCTION_DISCOVERY", "SANDBOX_DISCOVERY", "AutotaskConnector", "AutotaskGateway"]
