"""The access-token verifier lives in the shared runtime, where every service uses it."""

from service_runtime.tokens import ACCEPTED_TYPES, KNOWN_ROLES, TokenVerifier

__all__ = ["ACCEPTED_TYPES", "KNOWN_ROLES", "TokenVerifier"]
