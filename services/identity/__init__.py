"""The identity service: client-credential access tokens and the keys that verify them."""
