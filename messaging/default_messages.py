"""Nowistay's own guest messages, sent where the host has none of theirs: the door code change
message that tells a guest their rotated code (`messaging.rotations`), and the door code a guest
gets when their own did not reach the lock in time (`messaging.fallbacks`).

Written like the examples a new template starts from (`messaging.forms.DEFAULT_BODY`, the demo's
"Door code"), with the same variables, and held to the same rules when sent: rendered by
`messaging.rendering` from the booking's current active code, never without it.

The texts are marked for translation: a guest gets them in their language where the catalogue has
it (`DefaultMessage.text_for`), else in English. The placeholders are the messages' own variables,
which translators keep as written.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.utils.translation import gettext, gettext_noop, override

from locks.models import AccessCode
from messaging.languages import ChosenText
from messaging.models import BuiltinMessage
from nowistay.guest_languages import ENGLISH

CODE_CHANGE_SUBJECT = gettext_noop("Your new door code for {{property_name}}")
CODE_CHANGE_BODY = gettext_noop(
    "Hello {{guest_name}},\n\n"
    "The door code for {{property_name}} has changed. Your new code is {{smartlock_code}}.\n"
    "It works from {{code_valid_from}} until {{code_valid_until}}. {{code_usage_note}}\n\n"
    "Please use this new code from now on: the code you received before may no longer open the door.\n\n"
    "Check-in is from {{check_in_time}} on {{arrival_date}}; check-out by {{check_out_time}} on {{departure_date}}.\n"
)
FALLBACK_SUBJECT = gettext_noop("Your door code for {{property_name}}")
FALLBACK_BODY = gettext_noop(
    "Hello {{guest_name}},\n\n"
    "Your door code for {{property_name}} is {{smartlock_code}}.\n"
    "It works from {{code_valid_from}} until {{code_valid_until}}. {{code_usage_note}}\n\n"
    "Check-in is from {{check_in_time}} on {{arrival_date}}; check-out by {{check_out_time}} on {{departure_date}}.\n"
)
# For locks whose guests also get a door link (homeit): the link changed with the code.
LINK_PARAGRAPH = gettext_noop("\nYour new door link, which opens the door too: {{smartlock_link}}\n")


@dataclass(frozen=True)
class DefaultMessage:
    """What a ledger row of a built-in message sends: read like a host's template (name, subject,
    body, whether it carries the code) by `messaging.delivery`."""

    name: str
    subject: str
    body: str
    uses_code: bool = True
    is_active: bool = True
    is_code_change: bool = True
    with_link: bool = False

    def for_code(self, code: AccessCode | None) -> DefaultMessage:
        """The text for this code: with its door link, for locks whose guests get one."""
        if code is None or not code.access_link:
            return self
        return replace(self, body=self.body + LINK_PARAGRAPH, with_link=True)

    def text_for(self, language: str) -> ChosenText:
        """(subject, body, language used): in `language` where the translation catalogue has the
        whole message, else in English (never half one, half the other)."""
        if not language or language == ENGLISH:
            return ChosenText(self.subject, self.body, ENGLISH)
        english_body = self.body[: -len(LINK_PARAGRAPH)] if self.with_link else self.body
        with override(language):
            subject, body = gettext(self.subject), gettext(english_body)
            link = gettext(LINK_PARAGRAPH) if self.with_link else ""
        translated = subject != self.subject and body != english_body and (not self.with_link or link != LINK_PARAGRAPH)
        if not translated:
            return ChosenText(self.subject, self.body, ENGLISH)
        return ChosenText(subject, body + link, language)


MESSAGES = {
    BuiltinMessage.CODE_CHANGE: DefaultMessage(name=BuiltinMessage.CODE_CHANGE.label, subject=CODE_CHANGE_SUBJECT, body=CODE_CHANGE_BODY),
    # The escalation ladder's fallback (locks.services.ladder), for a guest no message of the host's gives a code.
    BuiltinMessage.FALLBACK_CODE: DefaultMessage(
        name=BuiltinMessage.FALLBACK_CODE.label, subject=FALLBACK_SUBJECT, body=FALLBACK_BODY, is_code_change=False
    ),
}


def default_message(kind: str) -> DefaultMessage | None:
    return MESSAGES.get(kind)
