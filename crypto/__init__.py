"""Pnyx's cryptographic core: framework-free (no Django, DRF or Celery), on petlib/OpenSSL.

Modules: ``errors``, ``group`` (P-256 ``Scalar``/``Point``), ``hashing`` (RFC 8785, hash to
scalar), ``encoding``, ``elgamal``, ``proofs`` (Schnorr, Chaum–Pedersen, disjunctive, batch),
``signatures``, ``credentials``, ``ballot``, ``ecies``, ``threshold`` (DKG, partial decryption,
combination), ``dlog``. The protocol they implement is docs/protocol.md.
"""
