"""The Slack playground: the bot, a strict local Slack stand-in and a browser page that plays
Slack's part (channel, slash commands, buttons, modals), for trying the bot with no workspace.

``campaign-bot`` starts it when no Slack token is configured; ``campaign-bot playground`` always.
"""
