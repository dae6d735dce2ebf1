"""The Slack playground: its backend, its process, and the page in a real browser."""
