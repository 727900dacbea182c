"""The signer's use cases: a command per RPC, one handler each (commands.py, handlers.py)."""
