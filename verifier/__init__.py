"""pnyx-verify: the observers' standalone verifier of a Pnyx election board.

It depends only on the cryptographic core (``crypto/``) and the standard library (plus ``tqdm``
for the progress bar when installed): no Django, no database. See docs/protocol.md.
"""
