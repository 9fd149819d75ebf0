"""Non-interactive zero-knowledge proofs (strong Fiat–Shamir), docs/protocol.md §5."""
