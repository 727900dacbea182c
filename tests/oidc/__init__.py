"""A real OpenID provider configured like FranceConnect v2, for the identity tests."""
