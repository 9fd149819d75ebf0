"""The verifiable mixnet (docs/protocol.md §15): ciphertext rows, the shuffle generators, the
width-w shuffle with its Terelius–Wikström proof, and the verified decryption of the final list."""
