"""The live service: match events in, game state out (odds streaming comes later)."""
