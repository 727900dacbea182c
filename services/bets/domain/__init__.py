"""The bets core: pure Python, no gRPC, no SQL."""
