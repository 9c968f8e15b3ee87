"""Who may see and do what, and the record of what they did: the audit trail (security/audit.py)."""

__all__: list[str] = []
