"""Handlers: a typed request in, a ``Reply`` out. They talk to the store and the dialer, never to
Slack; ``commands.handlers.dispatch.handle`` is the entry point."""
