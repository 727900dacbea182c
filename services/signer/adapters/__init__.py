"""Where a signer's key lives: a 0600 file or an AWS KMS key."""
