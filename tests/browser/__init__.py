"""Browser tests: the web app in headless Chromium against the real launched mesh."""
