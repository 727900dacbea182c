"""Live's service layer: the use cases the servicer and the runtime's tasks call.

Each handler orchestrates (reads through a port, asks the domain, writes through a port) and
holds no rule of its own; the domain decides, the adapters only talk to Redis and gRPC.
"""
