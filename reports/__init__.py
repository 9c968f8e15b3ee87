"""Availability reports (稼働率): service-hour calendars, report periods, and the reports built on them.

`reports.calendars` holds service hours (config) and Japanese public holidays, `reports.periods` the
report periods (month, quarter, fiscal year 年度). Nothing here reads the wall clock: times are parameters.
"""

__all__: list[str] = []
