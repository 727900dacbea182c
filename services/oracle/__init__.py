"""The oracle service: match results observed by independent sources, validated by agreement."""
