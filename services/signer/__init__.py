"""An oracle signer: one key, one process, reports checked and hashed here (see README.md)."""
