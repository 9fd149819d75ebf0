"""pnyx-witness: an independent witness of Pnyx boards (C2SP tlog-witness), see docs/witness.md.

Standalone: it depends on ``crypto/`` and the standard library only (no Django, no database server);
its state is one SQLite file. Modules: ``state`` (key, configuration, SQLite), ``service`` (the
add-checkpoint decisions), ``server`` (HTTP), ``client`` (what a log uses to ask for a
cosignature), ``cli`` (``pnyx-witness init | serve | add-log | show-key | evidence``).
"""
