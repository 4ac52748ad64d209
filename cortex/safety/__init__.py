"""Safety checks for commands before anything runs them."""
