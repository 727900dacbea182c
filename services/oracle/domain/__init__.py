"""Oracle core: observation checks, the agreement rule, held results and their resolution.
Knows nothing of gRPC, SQL or Redis."""
