"""Every email the product sends: a plain-text part and an HTML part, both from templates/emails/.

Each email has two templates, `emails/<name>.txt` and `emails/<name>.html` (the HTML one extends
`emails/base.html`, a simple inline-styled layout mail clients and phones show alike). Whatever a
host, a guest or a vendor wrote reaches them only as context values, never as template source:
the text templates print values as written (`{% autoescape off %}`), the HTML templates escape them.

A text template ends with a line break like any text file; that line break is the file's, not
the email's, and is taken off, so a text part says exactly what the context gives it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def render_email(template_name: str, context: Mapping) -> tuple[str, str]:
    """(text, html) of the email `template_name` (e.g. "code_failed") with `context`."""
    text = render_to_string(f"emails/{template_name}.txt", dict(context)).removesuffix("\n")
    html = render_to_string(f"emails/{template_name}.html", dict(context))
    return text, html


def text_and_html_message(
    *,
    subject: str,
    template_name: str,
    context: Mapping,
    to: Sequence[str],
    reply_to: Sequence[str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> EmailMultiAlternatives:
    """The email, not sent: the text part as its body, the HTML part as its alternative. The
    subject must already be one line (Django refuses a header with a line break)."""
    text, html = render_email(template_name, {**context, "subject": subject})
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=list(to),
        reply_to=list(reply_to) if reply_to else None, headers=dict(headers or {}),
    )
    message.attach_alternative(html, "text/html")
    return message


def send_text_and_html(*, subject: str, template_name: str, context: Mapping, to: Sequence[str], **options) -> None:
    """Build the email (see `text_and_html_message`) and send it; the backend's errors propagate."""
    text_and_html_message(subject=subject, template_name=template_name, context=context, to=to, **options).send(fail_silently=False)
