"""Consensus core: who agreed, whether a quorum holds, how a dissent differs. No gRPC here:
replicas are reached through the `ReplicaClient` port."""
