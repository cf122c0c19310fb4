"""The usage note of a code with a first-use deadline (igloohome's algoPINs, TTLock's offline
codes), stored on the code in English when it is issued. The sentence is marked for translation:
guest messages write it again in the guest's language (messaging.usage_notes), from the deadline
read back out of the stored English sentence.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_noop

FIRST_USE_NOTE = gettext_noop(
    "Enter this code on the lock at least once before %(deadline)s (within 24 hours of when it starts working), or it will stop working."
)
# How the deadline is written in the stored (English) note, e.g. "14:00 on 3 June 2026".
DEADLINE_FORMAT = "%H:%M on %-d %B %Y"
DEADLINE_PARSE_FORMAT = "%H:%M on %d %B %Y"


def first_use_note(deadline: datetime, zone: ZoneInfo) -> str:
    """The note in English, as stored on the code."""
    return FIRST_USE_NOTE % {"deadline": deadline.astimezone(zone).strftime(DEADLINE_FORMAT)}
