"""What a signer agrees to sign and for whom: pure rules, no gRPC, no key material."""
