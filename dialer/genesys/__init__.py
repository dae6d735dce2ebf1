"""Genesys Outbound Contact Server: campaign groups driven over OCS's HTTP interface.

    vendor    every wire detail of OCS in one table, each with its source (SOURCES); parsing
    groups    the configured campaign groups and which bot campaign each carries (bot's Redis)
    adapter   ``GenesysDialer`` (the Dialer port and ``WebhookReceiver``), settings, ``build``

Errors follow ``dialer.errors``::

    timeout, connection error, 5xx -> DialerUnavailable     429 -> DialerRateLimited
    401, 403 -> DialerAuthError      404 -> CampaignNotFound  409 -> CampaignConflict
    other 4xx -> DialerRejected      a body that is not JSON -> DialerProtocolError

A webhook that is not JSON, or not an OCS campaign-group message, raises ``WebhookRejected``;
a well-formed one this adapter cannot use (an unknown state, a group the bot does not use)
returns no notifications.
"""

from dialer.genesys.adapter import GenesysDialer, GenesysSettings, build

__all__ = ["GenesysDialer", "GenesysSettings", "build"]
