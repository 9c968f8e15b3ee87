"""Alerting: rules evaluated through the query engine, alert state, and the notification pipeline
(inhibit -> silence/maintenance -> group -> dedup -> notify with retry -> record)."""
