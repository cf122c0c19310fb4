"""PIN rules and PIN choice (locks/pins.py). Plain functions, no database."""

import random

import pytest
from hypothesis import given, settings, strategies as st

from locks.pins import (
    MAX_DRAWS,
    PIN_LENGTH,
    PinSpaceExhausted,
    choose_pin,
    generic_rule,
    phone_pin,
    random_pin,
)
from locks.providers.base import LockProvider
from locks.providers.fake import FakeProvider
from locks.providers.igloohome import IgloohomeProvider
from locks.providers.nuki import NukiProvider
from locks.providers.nuki.pins import nuki_rule
from locks.providers.tedee import TedeeProvider
from locks.providers.tedee.pins import tedee_rule
from locks.providers.ttlock import TTLockProvider
from locks.providers.ttlock.pins import ttlock_rule

RULES = [generic_rule, tedee_rule, nuki_rule, ttlock_rule]
# Ends in 291573: six digits every vendor accepts.
GOOD_PHONE = "+33 6 48 29 15 73"


def test_pin_length():
    assert PIN_LENGTH == 6


# --- Rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize("pin", ["123456", "000000", "987654", "291573", "012345"])
def test_generic_accepts(pin):
    assert generic_rule(pin) is None


@pytest.mark.parametrize(
    "pin",
    ["", "12345", "1234567", "12a456", " 12345", "12345 ", "-12345", "１２３４５６", "12345²", "١٢٣٤٥٦"],
)
def test_generic_rejects(pin):
    assert generic_rule(pin)


@pytest.mark.parametrize(
    "pin", ["58213", "90210", "291573", "123455", "112233", "901234", "13572468", "00012"]
)
def test_tedee_accepts(pin):
    assert tedee_rule(pin) is None


@pytest.mark.parametrize(
    ("pin", "reason"),
    [
        ("", "5 to 8 digits"),
        ("1357", "5 to 8 digits"),
        ("135792468", "5 to 8 digits"),
        ("12a45", "5 to 8 digits"),
        ("１２３４５", "5 to 8 digits"),
        ("111111", "3 different digits"),
        ("112211", "3 different digits"),
        ("121212", "3 different digits"),
        ("12345", "run"),
        ("54321", "run"),
        ("123456", "run"),
        ("654321", "run"),
        ("12345678", "run"),
        ("98765432", "run"),
        ("135789", "run"),
        ("975310", "run"),
    ],
)
def test_tedee_rejects(pin, reason):
    assert reason in tedee_rule(pin)


@pytest.mark.parametrize("pin", ["291573", "345678", "987654", "211111", "999999", "131313"])
def test_nuki_accepts(pin):
    assert nuki_rule(pin) is None


@pytest.mark.parametrize(
    ("pin", "reason"),
    [
        ("103456", "from 1 to 9"),
        ("345670", "from 1 to 9"),
        ("000000", "from 1 to 9"),
        ("34567", "6 digits"),
        ("3456789", "6 digits"),
        ("34a678", "6 digits"),
        ("", "6 digits"),
        ("123456", "start with 12"),
        ("129876", "start with 12"),
        ("121111", "start with 12"),
    ],
)
def test_nuki_rejects(pin, reason):
    assert reason in nuki_rule(pin)


@pytest.mark.parametrize(
    "pin", ["4829", "291573", "123457", "112233", "482915673", "9012", "1000001", "103579", "900000"]
)
def test_ttlock_accepts(pin):
    assert ttlock_rule(pin) is None


@pytest.mark.parametrize(
    ("pin", "reason"),
    [
        ("123", "4 to 9 digits"),
        ("1234567890", "4 to 9 digits"),
        ("12a4", "4 to 9 digits"),
        ("", "4 to 9 digits"),
        ("1111", "repeated digit"),
        ("999999", "repeated digit"),
        ("123456", "consecutive"),
        ("654321", "consecutive"),
        ("3456789", "consecutive"),
        # TTLock's add page types the PIN as an integer: a leading zero may not reach the lock.
        ("0123", "start with 0"),
        ("048213", "start with 0"),
        ("013579", "start with 0"),
        ("0000001", "start with 0"),
        ("000000000", "start with 0"),
    ],
)
def test_ttlock_rejects(pin, reason):
    assert reason in ttlock_rule(pin)


@pytest.mark.parametrize(
    ("provider", "rule"),
    [
        (TedeeProvider, tedee_rule),
        (NukiProvider, nuki_rule),
        (TTLockProvider, ttlock_rule),
        (IgloohomeProvider, generic_rule),
        (FakeProvider, generic_rule),
        (LockProvider, generic_rule),
    ],
)
def test_each_provider_declares_its_pin_rule(provider, rule):
    assert provider.pin_rule is rule
    assert provider.pin_problem("123456") == rule("123456")


pin_like = st.text(max_size=12) | st.text(alphabet="0123456789", max_size=10)


@settings(max_examples=500)
@given(pin=pin_like)
def test_rules_accept_only_ascii_digits_and_explain_refusals(pin):
    for rule in RULES:
        answer = rule(pin)
        if answer is None:
            assert pin and all(character in "0123456789" for character in pin)
        else:
            assert isinstance(answer, str) and answer


@settings(max_examples=500)
@given(pin=st.text(alphabet="0123456789", min_size=5, max_size=8))
def test_tedee_rule_matches_its_documented_conditions(pin):
    distinct = set(pin)
    ascending = list(pin) == sorted(distinct) and len(distinct) == len(pin)
    descending = list(pin) == sorted(distinct, reverse=True) and len(distinct) == len(pin)
    acceptable = len(distinct) >= 3 and not ascending and not descending
    assert (tedee_rule(pin) is None) == acceptable


@settings(max_examples=500)
@given(pin=st.text(alphabet="0123456789", min_size=4, max_size=9))
def test_ttlock_rule_matches_its_documented_conditions(pin):
    run = pin in "0123456789" or pin in "9876543210"
    acceptable = len(set(pin)) > 1 and not run and not pin.startswith("0")
    assert (ttlock_rule(pin) is None) == acceptable


@settings(max_examples=500)
@given(pin=st.text(alphabet="0123456789", min_size=6, max_size=6))
def test_nuki_rule_matches_its_documented_conditions(pin):
    acceptable = "0" not in pin and not pin.startswith("12")
    assert (nuki_rule(pin) is None) == acceptable
    assert generic_rule(pin) is None


# --- Random PINs ------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", RULES)
def test_random_pins_follow_the_rule(rule):
    rng = random.Random(1234)
    for _ in range(500):
        pin = random_pin(rng=rng, rule=rule, taken=())
        assert len(pin) == PIN_LENGTH
        assert rule(pin) is None


def test_random_pins_for_nuki_never_contain_zero():
    rng = random.Random(7)
    pins = {random_pin(rng=rng, rule=nuki_rule, taken=()) for _ in range(500)}
    assert not any("0" in pin or pin.startswith("12") for pin in pins)


def test_random_pins_for_ttlock_never_start_with_zero():
    rng = random.Random(7)
    pins = {random_pin(rng=rng, rule=ttlock_rule, taken=()) for _ in range(500)}
    assert len(pins) > 400 and not any(pin.startswith("0") for pin in pins)


@settings(max_examples=300)
@given(seed=st.integers(), phone=st.none() | st.text(alphabet="0123456789 +", max_size=20))
def test_no_ttlock_pin_ever_starts_with_zero(seed, phone):
    for source in ("random", "guest_phone"):
        pin = choose_pin(source=source, phone=phone, taken=(), rule=ttlock_rule, rng=random.Random(seed))
        assert pin[0] != "0" and len(pin) == PIN_LENGTH


def test_random_pin_is_reproducible_with_a_seed():
    first = random_pin(rng=random.Random(42), rule=generic_rule, taken=())
    assert random_pin(rng=random.Random(42), rule=generic_rule, taken=()) == first


def test_random_pin_skips_a_taken_pin():
    first = random_pin(rng=random.Random(42), rule=generic_rule, taken=())
    second = random_pin(rng=random.Random(42), rule=generic_rule, taken={first})
    assert second != first
    assert generic_rule(second) is None


def test_random_pin_works_with_system_random():
    assert generic_rule(random_pin(rng=random.SystemRandom(), rule=generic_rule, taken=())) is None


def test_random_pin_gives_up_when_no_pin_is_acceptable():
    with pytest.raises(PinSpaceExhausted):
        random_pin(rng=random.Random(0), rule=lambda pin: "never", taken=())


def test_random_pin_gives_up_when_the_only_acceptable_pin_is_taken():
    def only_one(pin: str) -> str | None:
        return None if pin == "291573" else "not that one"

    with pytest.raises(PinSpaceExhausted):
        random_pin(rng=random.Random(0), rule=only_one, taken={"291573"})


def test_random_pin_draws_a_bounded_number_of_times():
    calls = []

    def refuse(pin: str) -> str | None:
        calls.append(pin)
        return "no"

    with pytest.raises(PinSpaceExhausted):
        random_pin(rng=random.Random(0), rule=refuse, taken=())
    assert len(calls) == MAX_DRAWS


@settings(max_examples=300)
@given(
    rule=st.sampled_from(RULES),
    taken=st.sets(st.text(alphabet="0123456789", min_size=6, max_size=6), max_size=300),
    seed=st.integers(),
)
def test_random_pin_satisfies_the_rule_and_avoids_taken_pins(rule, taken, seed):
    pin = random_pin(rng=random.Random(seed), rule=rule, taken=taken)
    assert rule(pin) is None
    assert pin not in taken
    assert len(pin) == PIN_LENGTH


@settings(max_examples=50)
@given(seed=st.integers(), rule=st.sampled_from(RULES))
def test_random_pin_avoids_a_crowded_lock(seed, rule):
    # A lock holding many codes: the draw from a seeded generator still lands on a free PIN.
    crowded = {random_pin(rng=random.Random(seed + n), rule=rule, taken=()) for n in range(250)}
    pin = random_pin(rng=random.Random(seed), rule=rule, taken=crowded)
    assert pin not in crowded
    assert rule(pin) is None


# --- Phone PINs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "pin"),
    [
        ("+33 6 12 34 56 78", "345678"),
        ("+33612345678", "345678"),  # stored in E.164
        ("+15550109999", "109999"),
        ("+1-555-010-9999", "109999"),
        ("+44 (0)20 7946 0958", "460958"),
        ("+447700900123", "900123"),  # national number 7700 900123
        ("+81 90.1234.5678", "345678"),
        ("+390612345678", "345678"),  # Italy keeps the 0 of 06 in the national number
        (GOOD_PHONE, "291573"),
    ],
)
def test_phone_pin_is_the_last_six_digits_of_the_national_number(phone, pin):
    assert phone_pin(phone) == pin


# Stored values are E.164; before it, digits were taken as typed: "123456" and "0612345678" gave a PIN.
# A value the E.164 migration could not read (kept as written) has no national number to take it from.
@pytest.mark.parametrize("phone", [None, "", "   ", "+33", "12345", "+1 (555) 0", "no phone", "123456", "0612345678"])
def test_phone_pin_is_none_without_six_digits_of_a_national_number(phone):
    assert phone_pin(phone) is None


@pytest.mark.parametrize("phone", ["+683 4002", "+290 2345"])  # Niue, Saint Helena: 4-digit national numbers
def test_phone_pin_never_takes_digits_of_the_country_code(phone):
    # The old rule took the last 6 digits of the whole number: "+683 4002" gave "834002".
    assert phone_pin(phone) is None


def test_phone_pin_ignores_non_ascii_digits():
    # "١٢٣٤٥٦٧" are Arabic-Indic digits: no keypad has them.
    assert phone_pin("+20 ١٢٣٤٥٦٧") is None


@given(phone=st.text(max_size=30))
def test_phone_pin_is_none_or_six_ascii_digits(phone):
    pin = phone_pin(phone)
    assert pin is None or (len(pin) == PIN_LENGTH and all(character in "0123456789" for character in pin))


EUROPE_AND_US = {"FR": 33, "GB": 44, "US": 1, "ES": 34, "PT": 351, "DE": 49, "IT": 39}


@given(country=st.sampled_from(sorted(EUROPE_AND_US)), national=st.text(alphabet="0123456789", min_size=1, max_size=14))
def test_phone_pin_is_the_end_of_what_follows_the_country_code(country, national):
    pin = phone_pin(f"+{EUROPE_AND_US[country]} {national}")
    if len(national) < PIN_LENGTH:
        assert pin is None
    elif pin is not None:
        assert pin == national[-PIN_LENGTH:]


# --- Choosing -------------------------------------------------------------------------------


def chosen(*, source="guest_phone", phone=GOOD_PHONE, taken=(), rule=generic_rule, seed=3):
    return choose_pin(source=source, phone=phone, taken=taken, rule=rule, rng=random.Random(seed))


def random_with(*, seed=3, rule=generic_rule, taken=()):
    return random_pin(rng=random.Random(seed), rule=rule, taken=taken)


@pytest.mark.parametrize("rule", RULES)
def test_guest_phone_source_uses_the_phone(rule):
    assert chosen(rule=rule) == "291573"


def test_random_source_ignores_the_phone():
    assert chosen(source="random") == random_with()
    assert chosen(source="random") != "291573"


@pytest.mark.parametrize(
    ("phone", "taken", "rule"),
    [
        pytest.param(None, (), generic_rule, id="missing"),
        pytest.param("", (), generic_rule, id="empty"),
        pytest.param("+33 1 23", (), generic_rule, id="too short"),
        pytest.param(GOOD_PHONE, {"291573"}, generic_rule, id="taken on the lock"),
        pytest.param("+33 6 12 34 50 78", (), nuki_rule, id="nuki has no 0 key"),
        pytest.param("+1 555 412 9876", (), nuki_rule, id="nuki refuses a leading 12"),
        pytest.param("+33 6 00 12 34 56", (), tedee_rule, id="tedee ascending run"),
        pytest.param("+33 6 00 65 43 21", (), tedee_rule, id="tedee descending run"),
        pytest.param("+33 6 00 11 11 22", (), tedee_rule, id="tedee too few digits"),
        pytest.param("+33 6 00 99 99 99", (), ttlock_rule, id="ttlock repeated digit"),
        pytest.param("+33 6 00 04 82 13", (), ttlock_rule, id="ttlock leading zero"),
        pytest.param("+49 30 1205 7391", (), ttlock_rule, id="ttlock leading zero, Berlin"),
    ],
)
def test_guest_phone_source_falls_back_to_a_random_pin(phone, taken, rule):
    pin = chosen(phone=phone, taken=taken, rule=rule)
    assert pin == random_with(rule=rule, taken=taken)
    assert pin != phone_pin(phone)
    assert rule(pin) is None
    assert pin not in taken


def test_choose_pin_passes_the_rule_of_a_provider_method():
    # Providers pass a bound method (LockProvider.pin_problem) as the rule.
    class Provider:
        def pin_problem(self, pin: str) -> str | None:
            return nuki_rule(pin)

    pin = choose_pin(
        source="guest_phone",
        phone="+33 6 12 34 50 78",
        taken=(),
        rule=Provider().pin_problem,
        rng=random.Random(3),
    )
    assert nuki_rule(pin) is None


def test_unknown_source_is_refused():
    with pytest.raises(ValueError, match="source"):
        chosen(source="birthday")


@settings(max_examples=300)
@given(
    source=st.sampled_from(["random", "guest_phone"]),
    phone=st.none() | st.text(alphabet="0123456789 +()-", max_size=20),
    taken=st.sets(st.text(alphabet="0123456789", min_size=6, max_size=6), max_size=50),
    rule=st.sampled_from(RULES),
    seed=st.integers(),
)
def test_choose_pin_always_gives_a_free_acceptable_pin(source, phone, taken, rule, seed):
    pin = choose_pin(source=source, phone=phone, taken=taken, rule=rule, rng=random.Random(seed))
    assert rule(pin) is None
    assert pin not in taken
    assert len(pin) == PIN_LENGTH
    from_phone = phone_pin(phone)
    phone_usable = from_phone is not None and from_phone not in taken and rule(from_phone) is None
    if source == "guest_phone" and phone_usable:
        assert pin == from_phone
