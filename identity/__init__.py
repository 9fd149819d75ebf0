"""Voters, credentials and trustees' identities."""
