"""A door code's usage note in the guest's language. The note is stored on the code in English
when the code is issued (locks.providers.usage_notes); a guest message writes it again in the
guest's language: the first-use sentence with its deadline in that language's words, any other
note through the translation catalogue as written. English notes are sent exactly as stored.
"""

import re
from datetime import datetime

from django.utils.translation import gettext, override

from locks.providers.usage_notes import DEADLINE_PARSE_FORMAT, FIRST_USE_NOTE
from nowistay.guest_languages import ENGLISH, format_moment

_DEADLINE = "(?P<deadline>[0-9]{2}:[0-9]{2} on [0-9]{1,2} [A-Za-z]+ [0-9]{4})"
_FIRST_USE = re.compile(re.escape(FIRST_USE_NOTE).replace(re.escape("%(deadline)s"), _DEADLINE))


def usage_note_in(note: str, language: str) -> str:
    """`note` (as stored, in English) written in `language` where a translation exists."""
    if not note or not language or language == ENGLISH:
        return note
    found = _FIRST_USE.fullmatch(note)
    with override(language):
        if found is None:
            return gettext(note)
        try:
            deadline = datetime.strptime(found["deadline"], DEADLINE_PARSE_FORMAT)
        except ValueError:
            return note
        return gettext(FIRST_USE_NOTE) % {"deadline": format_moment(deadline, language)}
