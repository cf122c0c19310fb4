"""Model rules, enforced twice: by the database (constraints) and by validation (full_clean)."""

import itertools
from datetime import date

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction

from bookings.models import Booking, BookingStatus, PmsSource, Property
from locks.models import Lock, LockAssignment, Provider, ProviderAccount

pytestmark = pytest.mark.django_db

ARRIVAL = date(2026, 7, 10)


# --- helpers -------------------------------------------------------------------------------


@pytest.fixture
def make_account(host):
    def make(provider=Provider.TTLOCK, owner=None, **overrides):
        fields = {"host": owner or host, "provider": provider, "display_name": f"{provider} account"}
        fields.update(overrides)
        return ProviderAccount.objects.create(**fields)

    return make


@pytest.fixture
def make_lock(make_account):
    counter = itertools.count(1)

    def make(account=None, **overrides):
        number = next(counter)
        fields = {
            "account": account or make_account(),
            "vendor_lock_id": f"lock-{number}",
            "name": f"Front door {number}",
            "supports_remote_codes": True,
        }
        fields.update(overrides)
        return Lock.objects.create(**fields)

    return make


def make_booking(prop, **overrides):
    fields = {
        "property": prop,
        "guest_name": "Alice Martin",
        "arrival_date": ARRIVAL,
        "departure_date": date(2026, 7, 13),
        "status": BookingStatus.CONFIRMED,
    }
    fields.update(overrides)
    return Booking(**fields)


def assert_integrity_error(create):
    """The database itself refuses the row (checked without any model validation)."""
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def assert_validation_error(obj, field, message_part):
    """full_clean() rejects `obj` on `field` with a message containing `message_part`; nothing is saved."""
    model = type(obj)
    before = model.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        obj.full_clean()
        obj.save()  # the usual validate-then-save flow must stop before this line
    errors = excinfo.value.message_dict
    assert field in errors, f"expected an error on {field!r}, got {errors!r}"
    assert any(message_part in message for message in errors[field]), errors[field]
    assert model.objects.count() == before
    assert obj.pk is None


# --- Database constraints ------------------------------------------------------------------


class TestBookingDatabaseConstraints:
    @pytest.mark.parametrize("departure", [ARRIVAL, date(2026, 7, 9)], ids=["same-day", "before-arrival"])
    def test_departure_must_be_after_arrival(self, make_property, departure):
        prop = make_property()
        assert_integrity_error(lambda: make_booking(prop, departure_date=departure).save())
        assert Booking.objects.count() == 0

    def test_departure_after_arrival_is_stored(self, make_property):
        prop = make_property()
        make_booking(prop, departure_date=date(2026, 7, 11)).save()
        assert Booking.objects.count() == 1

    def test_invalid_status_is_refused(self, make_property):
        prop = make_property()
        assert_integrity_error(lambda: make_booking(prop, status="checked_in").save())
        assert Booking.objects.count() == 0

    def test_invalid_pms_source_is_refused(self, host):
        assert_integrity_error(
            lambda: Property.objects.create(host=host, name="X", time_zone="Europe/Paris", pms_source="airbnb")
        )


class TestLockAssignmentDatabaseConstraints:
    @pytest.mark.parametrize("lead_days", [0, 15])
    def test_lead_days_out_of_range(self, make_property, make_lock, lead_days):
        prop, lock = make_property(), make_lock()
        assert_integrity_error(lambda: LockAssignment.objects.create(property=prop, lock=lock, lead_days=lead_days))
        assert LockAssignment.objects.count() == 0

    @pytest.mark.parametrize("lead_days", [1, 14])
    def test_lead_days_bounds_accepted(self, make_property, make_lock, lead_days):
        assignment = LockAssignment.objects.create(property=make_property(), lock=make_lock(), lead_days=lead_days)
        assignment.refresh_from_db()
        assert assignment.lead_days == lead_days

    def test_margin_above_240_refused(self, make_property, make_lock):
        prop, lock = make_property(), make_lock()
        assert_integrity_error(lambda: LockAssignment.objects.create(property=prop, lock=lock, margin_minutes=241))
        assert LockAssignment.objects.count() == 0

    @pytest.mark.parametrize("margin", [0, 240])
    def test_margin_bounds_accepted(self, make_property, make_lock, margin):
        assignment = LockAssignment.objects.create(property=make_property(), lock=make_lock(), margin_minutes=margin)
        assignment.refresh_from_db()
        assert assignment.margin_minutes == margin

    def test_invalid_code_source_refused(self, make_property, make_lock):
        prop, lock = make_property(), make_lock()
        assert_integrity_error(lambda: LockAssignment.objects.create(property=prop, lock=lock, code_source="birthday"))

    def test_one_assignment_per_property_whatever_the_brand(self, make_property, make_account, make_lock):
        prop = make_property()
        ttlock = make_lock(account=make_account(Provider.TTLOCK))
        nuki = make_lock(account=make_account(Provider.NUKI))
        LockAssignment.objects.create(property=prop, lock=ttlock)
        assert_integrity_error(lambda: LockAssignment.objects.create(property=prop, lock=nuki))
        assert list(LockAssignment.objects.values_list("lock_id", flat=True)) == [ttlock.pk]

    def test_one_property_per_lock(self, make_property, make_lock):
        lock = make_lock()
        first, second = make_property(name="First"), make_property(name="Second")
        LockAssignment.objects.create(property=first, lock=lock)
        assert_integrity_error(lambda: LockAssignment.objects.create(property=second, lock=lock))
        assert list(LockAssignment.objects.values_list("property_id", flat=True)) == [first.pk]


class TestAccountAndLockDatabaseConstraints:
    def test_one_account_per_host_and_provider(self, host, make_account):
        make_account(Provider.TEDEE)
        assert_integrity_error(lambda: make_account(Provider.TEDEE))
        assert ProviderAccount.objects.filter(host=host, provider=Provider.TEDEE).count() == 1

    def test_same_provider_for_two_hosts_is_fine(self, host, other_host, make_account):
        make_account(Provider.TEDEE)
        make_account(Provider.TEDEE, owner=other_host)
        assert ProviderAccount.objects.filter(provider=Provider.TEDEE).count() == 2

    def test_invalid_provider_refused(self, host):
        # The vendors are the registry's (no migration for a new one): validation refuses others.
        assert_validation_error(ProviderAccount(host=host, provider="august"), "provider", "No lock provider “august”")

    def test_duplicate_vendor_lock_id_within_account(self, make_account, make_lock):
        account = make_account()
        make_lock(account=account, vendor_lock_id="12345")
        assert_integrity_error(lambda: make_lock(account=account, vendor_lock_id="12345"))
        assert Lock.objects.filter(account=account).count() == 1

    def test_same_vendor_lock_id_in_two_accounts_is_fine(self, make_account, make_lock):
        make_lock(account=make_account(Provider.TTLOCK), vendor_lock_id="12345")
        make_lock(account=make_account(Provider.NUKI), vendor_lock_id="12345")
        assert Lock.objects.filter(vendor_lock_id="12345").count() == 2

    def test_lock_without_remote_codes_needs_a_reason(self, make_lock):
        assert_integrity_error(lambda: make_lock(supports_remote_codes=False, unavailable_reason=""))
        assert Lock.objects.count() == 0

    def test_lock_without_remote_codes_with_reason_is_stored(self, make_lock):
        lock = make_lock(supports_remote_codes=False, unavailable_reason="No gateway")
        lock.refresh_from_db()
        assert lock.unavailable_reason == "No gateway"


# --- Validation (full_clean) -----------------------------------------------------------------


class TestPropertyValidation:
    def test_unknown_time_zone(self, host):
        prop = Property(host=host, name="Olympus Mons Lodge", time_zone="Mars/Olympus")
        assert_validation_error(prop, "time_zone", "“Mars/Olympus” is not a known time zone")

    @pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "Asia/Kathmandu", "UTC"])
    def test_known_time_zones(self, host, zone):
        prop = Property(host=host, name="Somewhere", time_zone=zone)
        prop.full_clean()
        prop.save()
        assert Property.objects.get(pk=prop.pk).time_zone == zone


class TestBookingValidation:
    @pytest.mark.parametrize("departure", [ARRIVAL, date(2026, 7, 1)], ids=["same-day", "before-arrival"])
    def test_departure_not_after_arrival(self, make_property, departure):
        booking = make_booking(make_property(), departure_date=departure)
        assert_validation_error(booking, "departure_date", "The departure must be after the arrival.")

    def test_phone_with_letters(self, make_property):
        booking = make_booking(make_property(), guest_phone="+33 6 ABC")
        assert_validation_error(booking, "guest_phone", "Enter a phone number with digits only")

    @pytest.mark.parametrize(
        "phone, stored",
        [
            ("+33 6 12 34 56 78", "+33612345678"),
            ("+1 (555) 010-9999", "+15550109999"),  # a US number at this Paris property needs its +1
            ("+1.555.010.9999", "+15550109999"),
            ("0612345678", "+33612345678"),
            ("", ""),
        ],
    )
    def test_valid_phones_are_stored_in_e164(self, make_property, phone, stored):
        booking = make_booking(make_property(), guest_phone=phone)
        booking.full_clean()
        booking.save()
        assert Booking.objects.get().guest_phone == stored

    def test_invalid_status(self, make_property):
        booking = make_booking(make_property(), status="checked_in")
        assert_validation_error(booking, "status", "is not a valid choice")


class TestLockAssignmentValidation:
    @pytest.mark.parametrize("lead_days, message", [(0, "greater than or equal to 1"), (15, "less than or equal to 14")])
    def test_lead_days_out_of_range(self, make_property, make_lock, lead_days, message):
        assignment = LockAssignment(property=make_property(), lock=make_lock(), lead_days=lead_days)
        assert_validation_error(assignment, "lead_days", message)

    def test_margin_above_240(self, make_property, make_lock):
        assignment = LockAssignment(property=make_property(), lock=make_lock(), margin_minutes=241)
        assert_validation_error(assignment, "margin_minutes", "less than or equal to 240")

    @pytest.mark.parametrize("lead_days, margin", [(1, 0), (14, 240), (5, 30)])
    def test_bounds_accepted(self, make_property, make_lock, lead_days, margin):
        assignment = LockAssignment(property=make_property(), lock=make_lock(), lead_days=lead_days, margin_minutes=margin)
        assignment.full_clean()
        assignment.save()
        assert LockAssignment.objects.count() == 1

    def test_lock_of_another_host(self, make_property, make_account, make_lock, other_host):
        foreign_lock = make_lock(account=make_account(owner=other_host))
        assignment = LockAssignment(property=make_property(), lock=foreign_lock)
        before = LockAssignment.objects.count()
        with pytest.raises(ValidationError) as excinfo:
            assignment.full_clean()
            assignment.save()
        errors = excinfo.value.message_dict
        # A cross-host pairing concerns both fields, so it is reported on the form as a whole (or on the lock).
        key = NON_FIELD_ERRORS if NON_FIELD_ERRORS in errors else "lock"
        assert errors[key] == ["This lock belongs to another host's account."]
        assert LockAssignment.objects.count() == before

    @pytest.mark.parametrize(
        "pms_source, ai_active",
        [
            (PmsSource.NOWISTAY, False),
            (PmsSource.DIRECT_OTA, True),
            (PmsSource.OTHER_PMS, True),
        ],
    )
    def test_ineligible_property(self, make_property, make_lock, pms_source, ai_active):
        prop = make_property(pms_source=pms_source, ai_assistant_active=ai_active)
        assignment = LockAssignment(property=prop, lock=make_lock())
        assert_validation_error(
            assignment, "property", "Only properties on the Nowistay PMS with an active AI Assistant subscription"
        )

    def test_lock_that_cannot_take_remote_codes(self, make_property, make_lock):
        lock = make_lock(supports_remote_codes=False, unavailable_reason="Bluetooth only, no gateway")
        assignment = LockAssignment(property=make_property(), lock=lock)
        assert_validation_error(assignment, "lock", "This lock cannot take remote codes: Bluetooth only, no gateway")

    def test_second_assignment_for_property_reported_by_validation(self, make_property, make_account, make_lock):
        prop = make_property()
        LockAssignment.objects.create(property=prop, lock=make_lock(account=make_account(Provider.TTLOCK)))
        second = LockAssignment(property=prop, lock=make_lock(account=make_account(Provider.IGLOOHOME)))
        assert_validation_error(second, "property", "already exists")


# --- Eligibility -------------------------------------------------------------------------------

COMBINATIONS = list(itertools.product(PmsSource.values, [True, False]))


class TestEligibility:
    def test_queryset_returns_exactly_nowistay_pms_with_ai_assistant(self, make_property):
        created = {
            combo: make_property(name=f"{combo[0]}-{combo[1]}", pms_source=combo[0], ai_assistant_active=combo[1]) for combo in COMBINATIONS
        }
        assert len(created) == 6
        eligible = set(Property.objects.eligible_for_smart_lock())
        assert eligible == {created[(PmsSource.NOWISTAY, True)]}

    @pytest.mark.parametrize("pms_source, ai_active", COMBINATIONS)
    def test_property_flag_agrees_with_queryset(self, make_property, pms_source, ai_active):
        prop = make_property(pms_source=pms_source, ai_assistant_active=ai_active)
        in_queryset = Property.objects.eligible_for_smart_lock().filter(pk=prop.pk).exists()
        expected = pms_source == PmsSource.NOWISTAY and ai_active
        assert in_queryset is expected
        assert prop.is_eligible_for_smart_lock is expected
        # Also on a freshly loaded instance (values coming back from the database).
        assert Property.objects.get(pk=prop.pk).is_eligible_for_smart_lock is expected


def test_phone_with_a_trailing_newline_is_refused():
    from django.core.exceptions import ValidationError

    from nowistay.validators import validate_phone

    with pytest.raises(ValidationError):
        validate_phone("+33 6 12 34 56 78\n")
