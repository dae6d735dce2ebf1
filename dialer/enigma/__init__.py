"""Teleforge Enigma: HTTP control, Redis Pub/Sub notifications. Assumptions live in ``wire``."""

from dialer.enigma.adapter import EnigmaDialer, EnigmaSettings, build
from dialer.enigma.packets import AgentPresence, AgentPresenceState

__all__ = ["AgentPresence", "AgentPresenceState", "EnigmaDialer", "EnigmaSettings", "build"]
