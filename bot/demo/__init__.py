"""``campaign-bot demo``: the real server, the simulator dialer, an in-memory store and a local
stand-in for the Slack Web API, driven through a scripted session of signed Slack requests.

The stand-in (``slack_api``), the signed-request driver (``driver``) and the modal values
(``forms``) are the same ones the end-to-end tests use.
"""
