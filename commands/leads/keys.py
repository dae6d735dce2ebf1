"""Every Redis key of the leads upload, defined once with its type and lifetime.

Same prefix convention as ``state.keys.Keys`` (``cb:`` by default), so tests and deployments
sharing a Redis stay apart.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UploadKeys:
    prefix: str = "cb:"

    # HASH, one campaign's upload: source id, dialer, rules (JSON), batch size, total, state,
    # error, timestamps. Kept as long as the campaign: ``UploadStore.forget`` removes it with
    # the campaign (the start command reads it, so it must outlive the upload itself).
    def upload(self, ref: str) -> str:
        return f"{self.prefix}upload:{ref}"

    # STRING bitmap, bit i = batch i acknowledged by the dialer. Same lifetime as ``upload``.
    def acked(self, ref: str) -> str:
        return f"{self.prefix}upload:{ref}:acked"

    # STRING bitmap, bit i = batch i was handed to the dialer at least once, so it may be
    # there even without an acknowledgement. Same lifetime as ``upload``.
    def attempted(self, ref: str) -> str:
        return f"{self.prefix}upload:{ref}:attempted"

    # STRING, the token of the process running the upload; expires after
    # LEADS_UPLOAD_LEASE_SECONDS unless renewed, so a crashed process lets another resume.
    def lease(self, ref: str) -> str:
        return f"{self.prefix}upload:{ref}:lease"

    # SET of campaign refs whose upload is in state ``uploading``: what a restarted bot resumes.
    # A ref leaves when its upload completes, fails, or is forgotten.
    @property
    def uploading(self) -> str:
        return f"{self.prefix}uploads:uploading"
