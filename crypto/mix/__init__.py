"""The verifiable mixnet (docs/protocol.md §14): ciphertext rows, the shuffle generators, the
width-w shuffle with its Terelius–Wikström proof, and the verified decryption of the final list."""
