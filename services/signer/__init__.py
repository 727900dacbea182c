"""An oracle signer: one key, one process, reports checked and hashed here (docs/architecture.md,
"Oracle keys")."""
