"""Identity core: clients, signing keys, token issuance and verification.
Knows nothing of gRPC or storage."""
