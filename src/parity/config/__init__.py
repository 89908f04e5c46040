"""Typed settings: parity.yaml + environment + flags, validated once, passed down as one object.

Precedence, highest first: command-line flags, environment (``PARITY_*``), the YAML file, defaults.
"""

from parity.config.canary import CanarySettings
from parity.config.defaults import (
    ANTHROPIC_DEFAULTS,
    OPENAI_DEFAULTS,
    frontier_deployments,
    local_deployment,
)
from parity.config.lifecycle import LifecycleSettings
from parity.config.loading import (
    ConfigProblem,
    check_config_file,
    lifecycle_problems,
    load_settings,
)
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
    "ANTHROPIC_DEFAULTS",
    "AUTO_ROUTE",
    "DEFAULT_LEDGER_URL",
    "LOCAL_MODEL_ID",
    "OPENAI_DEFAULTS",
    "ApiKey",
    "CanarySettings",
    "ConfigProblem",
    "LedgerSettings",
    "LifecycleSettings",
    "LocalModelSettings",
    "RetrySettings",
    "Route",
    "ServerSettings",
    "Settings",
    "check_config_file",
    "frontier_deployments",
    "lifecycle_problems",
    "load_settings",
    "local_deployment",
]
