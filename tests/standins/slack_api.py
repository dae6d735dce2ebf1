"""The Slack Web API stand-in lives in the package (``campaign-bot demo`` uses it)."""

from bot.demo.slack_api import (
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_SCOPES,
    RESPONSE_URL_SECONDS,
    RESPONSE_URL_USES,
    TEAM_ID,
    ResponsePost,
    SlackCall,
    SlackError,
    SlackMessage,
    SlackStandIn,
)

__all__ = [
    "BOT_ID",
    "BOT_USER_ID",
    "DEFAULT_SCOPES",
    "RESPONSE_URL_SECONDS",
    "RESPONSE_URL_USES",
    "TEAM_ID",
    "ResponsePost",
    "SlackCall",
    "SlackError",
    "SlackMessage",
    "SlackStandIn",
]
