"""The web console: the Flask server (`http`) the Dash app mounts on; pages, figures and the queries
facade join it. Reads through its facade over store/alerts/reports/security, never collectors."""

from dashboards.http import (
    LATEST_HELP,
    ComponentHealth,
    HealthReport,
    LatestSamplesCollector,
    create_server,
    exposed_names,
)

__all__ = [
    "LATEST_HELP",
    "ComponentHealth",
    "HealthReport",
    "LatestSamplesCollector",
    "create_server",
    "exposed_names",
]
