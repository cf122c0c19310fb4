"""What the integrations pages show, read from the database only: never a vendor call here.

Every query is scoped to the host, and the number of queries does not grow with the number of
properties or locks (see benchmarks/dashboard.py).
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _, ngettext

from bookings.models import SMART_LOCK_ELIGIBLE, Property
from locks.dashboard.forms import LADDER_FIELDS, AssignmentForm
from locks.dashboard.lock_options import LockOption, lock_options_html, own_note_html
from locks.models import AccountStatus, Lock, LockAssignment, ProviderAccount, provider_name
from locks.providers import registry
from locks.services.assignments import assignment_warnings
from locks.services.backup_pool import keeps_backups
from sandbox.demo_sign_ins import DEMO_SIGN_INS


def sandbox_hint(provider: str) -> str:
    """What to type against the sandbox clouds (`make run`); empty against real vendors."""
    demo = DEMO_SIGN_INS.get(provider)
    return demo.hint if settings.SANDBOX_URL and demo else ""


def connect_hint(provider: str) -> str:
    """What the brand's card says before the host connects (docs/product.md, "Connecting a lock account")."""
    hint = registry.provider_class(provider).connect_hint  # marked with gettext_noop by the provider
    return _(hint) if hint else ""


def connect_notes(provider: str) -> tuple[str, ...]:
    """The panel's paragraphs about signing in, as the provider words them."""
    return tuple(_(note) for note in registry.provider_class(provider).connect_notes)


def connect_fine_print(provider: str) -> tuple[str, ...]:
    return tuple(_(note) for note in registry.provider_class(provider).connect_fine_print)


def eligibility_hint(provider: str) -> str:
    """What a lock needs to appear as available (docs/product.md, "Locks and assignments")."""
    hint = registry.provider_class(provider).eligibility_hint
    return _(hint) if hint else ""


def provider_or_404(slug: str) -> str:
    if slug not in registry.PROVIDER_CLASSES:
        raise Http404("No such lock provider.")
    return slug


def provider_label(provider: str) -> str:
    return provider_name(provider)


def takes_chosen_pins(provider: str) -> bool:
    return registry.provider_class(provider).capabilities.chosen_pins


def reads_access_log(provider: str) -> bool:
    return registry.provider_class(provider).capabilities.access_log


def revokes_remotely(provider: str) -> bool:
    return registry.provider_class(provider).capabilities.remote_revoke


def is_connected(account: ProviderAccount | None) -> bool:
    """Connected (or needing a new sign-in): its locks can be assigned. An account being
    disconnected is not: its assignments are gone and it only waits for its codes to be revoked."""
    return account is not None and account.status not in (AccountStatus.DISCONNECTING, AccountStatus.DISCONNECTED)


def is_disconnecting(account: ProviderAccount | None) -> bool:
    return account is not None and account.status == AccountStatus.DISCONNECTING


def disconnect_summary(account: ProviderAccount | None) -> str:
    """What the last disconnection did, shown until the account is connected again."""
    if account is None or account.status != AccountStatus.DISCONNECTED:
        return ""
    return account.disconnect_summary


def host_account(host, provider: str) -> ProviderAccount | None:
    return ProviderAccount.objects.filter(host=host, provider=provider).first()


def connected_account_or_404(host, provider: str) -> ProviderAccount:
    account = host_account(host, provider)
    if not is_connected(account):
        raise Http404("This lock provider is not connected.")
    return account


# --- a provider's panel: lock assignments ---------------------------------------------------------

# Rows per page of "Lock assignments". A row is a one-line summary; only the row being edited
# carries the form and the account's lock dropdown (which alone can weigh 10 kB at 130 locks).
ROWS_PER_PAGE = 100


@dataclass
class AssignmentRow:
    """One property in a provider's "Lock assignments" list: an eligible one, or one that still
    holds this account's lock after losing its eligibility (so the lock can be freed).

    Shown as a summary (its lock and settings, an Edit link and Remove) unless `editing`: then as
    the form, with the dropdown of the account's locks."""

    property: Property
    provider: str
    form: AssignmentForm
    options: list[LockOption]
    assignment: LockAssignment | None
    shared_options_html: SafeString = mark_safe("")
    warnings: list[str] = field(default_factory=list)
    message: str = ""
    editing: bool = False
    # After an htmx save or removal the row comes back as a summary: its Edit link takes the
    # keyboard focus the swap took away from the Save button.
    focus_edit: bool = False

    @property
    def eligible(self) -> bool:
        return self.property.is_eligible_for_smart_lock

    @property
    def options_html(self) -> SafeString:
        shared = self.shared_options_html or lock_options_html(self.options)
        selected = self.selected_lock_id
        if not selected:
            return shared
        marker = format_html('<option value="{}"', selected)
        start = shared.find(marker)
        if start < 0:
            return shared
        end = shared.find("</option>", start)
        # The row's own lock needs no "assigned to <this property>" note.
        own_note = own_note_html(self.property.name)
        option = shared[start:end].replace(marker, f"{marker} selected", 1).removesuffix(own_note)
        return mark_safe(shared[:start] + option + shared[end:])

    @property
    def provider_label(self) -> str:
        return provider_label(self.provider)

    @property
    def has_this_brand(self) -> bool:
        return self.assignment is not None and self.assignment.lock.account.provider == self.provider

    @property
    def other_brand(self) -> str:
        if self.assignment is None or self.has_this_brand:
            return ""
        return self.assignment.lock.account.provider_name

    @property
    def selected_lock_id(self) -> str:
        value = self.form["lock"].value()
        return "" if value in (None, "") else str(value)

    @property
    def settings_summary(self) -> list[str]:
        """This brand's assignment in a few words, as the summary row shows it (empty without one)."""
        if not self.has_this_brand:
            return []
        assignment = self.assignment
        parts = [
            ngettext("codes made %(days)d day before arrival", "codes made %(days)d days before arrival", assignment.lead_days)
            % {"days": assignment.lead_days},
            _("access margin %(minutes)d min") % {"minutes": assignment.margin_minutes},
        ]
        if takes_chosen_pins(self.provider):
            parts.append(_("code source: %(source)s") % {"source": assignment.get_code_source_display().lower()})
        if reads_access_log(self.provider):
            first, unused = assignment.notify_first_entry, assignment.notify_unused_code
            if first and unused:
                parts.append(_("emails: first entry, unused code"))
            elif first or unused:
                parts.append(_("emails: first entry") if first else _("emails: unused code"))
            else:
                parts.append(_("no entry emails"))
        return parts

    @property
    def ladder_summary(self) -> str:
        """The escalation ladder's settings in one line ("If a guest's code is not on the lock in time")."""
        if not self.has_this_brand:
            return ""
        assignment = self.assignment
        hours = {"warn": assignment.warn_host_hours_before, "fallback": assignment.fallback_hours_before}
        steps = [
            _("email me %(warn)d h before check-in") % hours if assignment.warn_host_hours_before else _("no early email"),
            _("send the guest an offline or backup code %(fallback)d h before") % hours
            if assignment.send_fallback
            else _("no offline or backup code sent"),
            _("email me again at check-in") if assignment.remind_host_at_check_in else _("no check-in reminder"),
        ]
        if keeps_backups(registry.provider_class(self.provider)):
            count = assignment.backup_codes
            steps.append(
                ngettext("%(count)d backup code kept on the lock", "%(count)d backup codes kept on the lock", count) % {"count": count}
            )
        return "; ".join(steps)


def lock_options(account: ProviderAccount) -> list[LockOption]:
    locks = Lock.objects.filter(account=account).select_related("assignment__property").order_by("name", "id")
    kept_in_cloud = registry.provider_class(account.provider).capabilities.writes_while_offline
    return [LockOption(lock, _assigned_property(lock), kept_in_cloud) for lock in locks]


def _assigned_property(lock: Lock) -> Property | None:
    try:
        return lock.assignment.property
    except LockAssignment.DoesNotExist:
        return None


def _with_assignment(properties):
    # The account's credentials are never needed here: do not load (and decrypt) them per row.
    return properties.select_related("lock_assignment__lock__account").defer("lock_assignment__lock__account__credentials")


def eligible_properties(host):
    return _with_assignment(Property.objects.of_host(host).eligible_for_smart_lock()).order_by("name", "id")


def panel_properties(host, account: ProviderAccount, query: str = ""):
    """The panel's rows: eligible properties, plus any that lost eligibility but still hold one of
    this account's locks (only "Remove" is offered there)."""
    properties = Property.objects.of_host(host).filter(SMART_LOCK_ELIGIBLE | Q(lock_assignment__lock__account=account))
    if query:
        properties = properties.filter(name__icontains=query)
    return _with_assignment(properties).order_by("name", "id")


def eligible_property_or_404(host, property_id: int) -> Property:
    prop = eligible_properties(host).filter(pk=property_id).first()
    if prop is None:
        raise Http404("No such property.")
    return prop


def reloaded(prop: Property) -> Property:
    """The property read again with its assignment, after an action changed it."""
    return _with_assignment(Property.objects.filter(pk=prop.pk)).get()


def panel_property_or_404(host, account: ProviderAccount, property_id: int) -> Property:
    prop = panel_properties(host, account).filter(pk=property_id).first()
    if prop is None:
        raise Http404("No such property.")
    return prop


def current_assignment(prop: Property) -> LockAssignment | None:
    try:
        return prop.lock_assignment
    except LockAssignment.DoesNotExist:
        return None


def assignment_initial(assignment: LockAssignment | None, provider: str) -> dict:
    if assignment is None or assignment.lock.account.provider != provider:
        return {}
    return {
        "lock": assignment.lock_id,
        "lead_days": assignment.lead_days,
        "margin_minutes": assignment.margin_minutes,
        "code_source": assignment.code_source,
        "notify_first_entry": assignment.notify_first_entry,
        "notify_unused_code": assignment.notify_unused_code,
        **{name: getattr(assignment, name) for name in LADDER_FIELDS},
    }


def assignment_form(prop: Property, provider: str, data=None) -> AssignmentForm:
    assignment = current_assignment(prop)
    return AssignmentForm(
        data,
        prefix=f"p{prop.pk}",
        initial=assignment_initial(assignment, provider),
        takes_chosen_pins=takes_chosen_pins(provider),
        reads_access_log=reads_access_log(provider),
        keeps_backups=keeps_backups(registry.provider_class(provider)),
    )


def assignment_row(
    prop: Property,
    provider: str,
    options: list[LockOption],
    form: AssignmentForm | None = None,
    *,
    shared_options_html=None,
    editing: bool = False,
    **notes,
) -> AssignmentRow:
    """A row, as a summary or (`editing`, or with a bound `form` to show its errors) as the form."""
    assignment = current_assignment(prop)
    warnings = []
    if assignment is not None and assignment.lock.account.provider == provider:
        warnings = assignment_warnings(assignment, on=timezone.localdate())
    return AssignmentRow(
        property=prop,
        provider=provider,
        form=form or assignment_form(prop, provider),
        options=options,
        assignment=assignment,
        shared_options_html=shared_options_html or mark_safe(""),
        warnings=warnings,
        editing=(editing or form is not None) and prop.is_eligible_for_smart_lock,  # an ineligible row only offers Remove
        **notes,
    )


def assignment_rows_page(
    host, account: ProviderAccount, options: list[LockOption], *, page=1, query: str = "", bound=None, editing=None
):
    """One page of rows (and the page object, for the links): summaries, but the form for the
    property being edited (`editing`, its id, from the panel's ?edit=) and any `bound` (refused) one."""
    bound = bound or {}
    paginator = Paginator(panel_properties(host, account, query), ROWS_PER_PAGE)
    page_obj = paginator.get_page(page)
    shared = lock_options_html(options) if editing or bound else mark_safe("")  # only a form shows them
    rows = [
        assignment_row(
            prop, account.provider, options, bound.get(prop.pk), shared_options_html=shared, editing=prop.pk == editing
        )
        for prop in page_obj.object_list
    ]
    return rows, page_obj
