"""Which campaign group carries which bot campaign, shared by every replica on the bot's Redis.

OCS campaign groups are defined in Genesys configuration and cannot be created over OCS's HTTP
interface, so ``GENESYS_CAMPAIGN_GROUPS`` lists the groups the bot may use and a new campaign is
*attached* to one of them. The attachment is what turns an OCS notification, which names only the
group, into the bot's ref.

Its keys, on the bot's Redis, are ``state.keys.GenesysKeys``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from state.domain import CampaignSettings
from state.keys import GenesysKeys


class CampaignGroup(BaseModel):
    """One entry of ``GENESYS_CAMPAIGN_GROUPS``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)  # as OCS reports it in GSW_CAMPAIGN_GROUP_NAME
    dbid: int
    calling_list: str = Field(min_length=1)  # the calling list's DBID or name, for added records
    guid: str | None = None  # GSW_CAMPAIGN_GROUP_GUID, when known: matched before the name


@dataclass(frozen=True)
class Attachment:
    ref: str
    dbid: int
    settings: CampaignSettings
    removing: bool = False


class Attachments:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._keys = GenesysKeys(prefix)

    def _group_key(self, dbid: int) -> str:
        return self._keys.group(dbid)

    def _ref_key(self, ref: str) -> str:
        return self._keys.ref(ref)

    async def attach(self, ref: str, dbid: int, settings: CampaignSettings) -> bool:
        """Claim the group for ``ref``; False when another campaign holds it."""
        key = self._group_key(dbid)
        if not await self._redis.hsetnx(key, "ref", ref):
            return False
        await self._redis.hset(key, "settings", settings.model_dump_json())
        await self._redis.set(self._ref_key(ref), dbid)
        return True

    async def of_ref(self, ref: str) -> Attachment | None:
        dbid = await self._redis.get(self._ref_key(ref))
        if dbid is None:
            return None
        found = await self.of_group(int(dbid))
        return found if found is not None and found.ref == ref else None

    async def of_group(self, dbid: int) -> Attachment | None:
        fields: dict[bytes | str, bytes | str] = await self._redis.hgetall(self._group_key(dbid))
        values = {_text(k): _text(v) for k, v in fields.items()}
        if "ref" not in values:
            return None
        settings = values.get("settings")
        return Attachment(
            ref=values["ref"],
            dbid=dbid,
            settings=(
                CampaignSettings.model_validate_json(settings) if settings else CampaignSettings()
            ),
            removing=values.get("removing") == "1",
        )

    async def save_settings(self, attachment: Attachment, settings: CampaignSettings) -> None:
        key = self._group_key(attachment.dbid)
        await self._redis.hset(key, "settings", settings.model_dump_json())

    async def mark_removing(self, attachment: Attachment) -> None:
        await self._redis.hset(self._group_key(attachment.dbid), "removing", "1")

    async def detach(self, attachment: Attachment) -> None:
        await self._redis.delete(self._group_key(attachment.dbid), self._ref_key(attachment.ref))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
