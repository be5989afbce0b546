"""Loading sfrenew's configuration file, section by section, strictly.

``load_config(path)`` reads the whole file once and returns an :class:`AppConfig`;
``sfrenew.config.rules`` holds the ``rules:`` section's models.
"""

from sfrenew.config.app import (
    DEFAULT_MAPPING,
    DEFAULT_STATE_DIR,
    AnalyticsSettings,
    AppConfig,
    QueueSettings,
    RunSettings,
    StoreSettings,
    load_config,
    load_salesforce,
    mapping_path_of,
)

__all__ = [
    "DEFAULT_MAPPING",
    "DEFAULT_STATE_DIR",
    "AnalyticsSettings",
    "AppConfig",
    "QueueSettings",
    "RunSettings",
    "StoreSettings",
    "load_config",
    "load_salesforce",
    "mapping_path_of",
]
