"""Homomorphic tally and threshold decryption by the trustees."""
