"""LiveVox: campaigns over LiveVox's Campaign API; LiveVox pushes nothing, so the adapter polls.

    vendor    every wire detail of LiveVox in one table, each with its source (SOURCES), and the
              pure request/answer functions
    session   login, ``LV-Session`` on every call, renewal on 401 or after the idle expiry
    limiter   the rolling-window limit on appends (5 calls a rolling minute)
    lease     the Redis lease that lets one bot replica poll at a time
    poller    observed changes -> notifications, the last observation kept on the bot's Redis
    adapter   ``LiveVoxDialer`` (the Dialer port), ``LiveVoxSettings`` and ``build``

Errors follow ``dialer.errors``; how HTTP answers map onto them is drawn in ``session``.
"""

from dialer.livevox.adapter import LiveVoxDialer, LiveVoxSettings, build

__all__ = ["LiveVoxDialer", "LiveVoxSettings", "build"]
