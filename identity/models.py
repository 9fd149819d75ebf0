"""Database models of this app (none yet)."""
