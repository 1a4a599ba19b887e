"""Follows user changes, so a stream connection lasts only while its caller may."""

from __future__ import annotations

from collections.abc import Sequence

from ..core.changes import Change, ChangeListener
from .hub import StreamHub


class StreamAccess(ChangeListener):
    """Closes a deleted user's connections and re-checks an updated user's."""

    def __init__(self, hub: StreamHub) -> None:
        self.hub = hub

    def committed(self, changes: Sequence[Change]) -> None:
        for change in changes:
            user_id = change.data["id"]
            if change.type == "user.deleted":
                self.hub.revoke_user(user_id)
            elif change.type == "user.updated":
                self.hub.recheck_user(user_id)
