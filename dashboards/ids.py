"""Every Dash component id of the web console, in one place (pages import them from here, never
build ids by concatenation). Grouped by page; the shell's ids first."""

from __future__ import annotations

# -- the shell (dashboards/app.py) ---------------------------------------------------------------
URL = "url"
LANGUAGE = "language"
"""dcc.Store (local storage): the user's language choice, "ja" or "en" (None: the config's)."""
LANGUAGE_TOGGLE = "language-toggle"
NAV = "nav"
NAV_LINK_PREFIX = "nav-"
PAGE_TITLE = "page-title"
CLOCK = "clock"
CLOCK_TICK = "clock-tick"

# -- wall (dashboards/pages/wall.py) --------------------------------------------------------------
WALL_TICK = "wall-tick"
WALL_TILES = "wall-tiles"
WALL_MAP = "wall-map"
WALL_TICKER = "wall-ticker"
WALL_HEALTH = "wall-health"

# -- alerts (dashboards/pages/alerts.py) ----------------------------------------------------------
ALERTS_TICK = "alerts-tick"
ALERTS_TABLE = "alerts-table"
ALERTS_FILTER_SITE = "alerts-filter-site"
ALERTS_FILTER_SYSTEM = "alerts-filter-system"
ALERTS_FILTER_SEVERITY = "alerts-filter-severity"
ALERTS_FILTER_STATE = "alerts-filter-state"
ALERTS_FILTER_TEXT = "alerts-filter-text"

# -- device and link (dashboards/pages/device.py, link.py) ----------------------------------------
RANGE = "range"
DEVICE_STATE = "device-state"
DEVICE_INTERFACES = "device-interfaces"
DEVICE_ALERTS = "device-alerts"
LINK_STATE = "link-state"
LINK_TRAFFIC = "link-traffic"

# -- explore (dashboards/pages/explore.py) --------------------------------------------------------
EXPLORE_QUERY = "explore-query"
EXPLORE_RUN = "explore-run"
EXPLORE_GRAPH = "explore-graph"
EXPLORE_TABLE = "explore-table"
EXPLORE_ERROR = "explore-error"
