"""Orchestration above the apps: what drives several of them at once.

The demo seeding (``manage.py seed_demo``), the end-to-end simulation (``manage.py
simulate_election``) and the officials' election dashboard use voting/, identity/, tally/ and
board/ together, so they live here, above them; no app imports this package.
"""
