"""Typed settings: parity.yaml + environment + flags, validated once, passed down as one object.

Precedence, highest first: command-line flags, environment (``PARITY_*``), the YAML file, defaults.
"""

from parity.config.defaults import frontier_deployments, local_deployment
from parity.config.loading import ConfigProblem, check_config_file, load_settings
from parity.config.routing import Route
from parity.config.settings import (
    AUTO_ROUTE,
    DEFAULT_LEDGER_URL,
    LOCAL_MODEL_ID,
    ApiKey,
    LedgerSettings,
    LocalModelSettings,
    RetrySettings,
    ServerSettings,
    Settings,
)

__all__ = [
    "AUTO_ROUTE",
    "DEFAULT_LEDGER_URL",
    "LOCAL_MODEL_ID",
    "ApiKey",
    "ConfigProblem",
    "LedgerSettings",
    "LocalModelSettings",
    "RetrySettings",
    "Route",
    "ServerSettings",
    "Settings",
    "check_config_file",
    "frontier_deployments",
    "load_settings",
    "local_deployment",
]
