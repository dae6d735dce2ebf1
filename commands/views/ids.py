"""Action, callback and block ids shared by the builders and the Slack listeners."""

from __future__ import annotations

# Buttons on the overview and on a campaign's card; ``value`` is the campaign ref.
START = "campaign_start"
STOP = "campaign_stop"
EDIT = "campaign_edit"
REMOVE = "campaign_remove"
NEW = "campaign_new"
# Buttons on the approval message; ``value`` is the campaign ref.
APPROVE = "removal_approve"
REJECT = "removal_reject"
# Overview paging; ``value`` is the page number to show, after ``EVERY_CHANNEL_PAGE`` for the
# overview of every channel (``list all``).
PAGE_PREVIOUS = "overview_page_previous"
PAGE_NEXT = "overview_page_next"
EVERY_CHANNEL_PAGE = "all:"
# Inside the campaign modal: remove one agent; ``value`` is the agent id.
REMOVE_AGENT = "agent_remove"

# Modals (``callback_id``); the campaign modal keeps its ref in ``private_metadata``.
NEW_CAMPAIGN_MODAL = "new_campaign"
CAMPAIGN_MODAL = "campaign_view"

# Input blocks; each holds one element whose ``action_id`` is the same string.
NAME = "name"
DETAIL = "detail"
AGGRESSION = "aggression"
END_HANDLE = "end_handle"
DIAL_TIMEOUT = "dial_timeout_seconds"
MAX_ATTEMPTS = "max_attempts"
RETRY_INTERVAL = "retry_interval_minutes"
AGENTS = "agents"
DEFAULT_STATE = "default_state"
CALLING_WINDOW = "calling_window"
LEADS = "leads"
