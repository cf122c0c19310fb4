"""The integrations page, each provider's panel (connected or not, its text escaped) and refreshing the locks.

The dashboard through the Django test client, on the in-memory fake cloud (tests/conftest.py) except
where a real connect flow is needed (the vendor emulators of tests/vendors/)."""

import re

import pytest
from django.urls import reverse
from django.utils.html import escape

from bookings.models import PmsSource
from locks.models import AccountStatus, CodeSource, Lock, LockAssignment, ProviderAccount
from locks.providers import registry
from locks.providers.exceptions import VendorUnavailable
from tests.locks.dashboard.pages import (
    LABELS,
    PROVIDERS,
    card_html,
    edit_url,
    input_value,
    messages_of,
    options_of,
    panel_url,
    remove_url,
    row_fields,
    row_html,
    save_url,
    unavailable_lock,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]


# --- the integrations page -----------------------------------------------------------------------

class TestIntegrationsPage:
    def test_login_is_required(self, client):
        response = client.get(reverse("integrations:index"))
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('login')}?next={reverse('integrations:index')}"

    def test_a_card_per_brand_in_order_none_connected(self, logged_in):
        response = logged_in.get(reverse("integrations:index"))
        content = response.content.decode()
        assert response.status_code == 200
        assert re.findall(r'<li class="card" id="card-(\w+)">', content) == PROVIDERS
        assert [card.provider for card in response.context["cards"]] == PROVIDERS
        for provider in PROVIDERS:
            card = card_html(content, provider)
            assert f"<h3>{LABELS[provider]}</h3>" in card
            assert "Not connected." in card
            assert f'href="{panel_url(provider)}"' in card and f'aria-label="Connect {LABELS[provider]}"' in card
            assert "assigned" not in card
        assert "Sign in with your TTLock app username and password." in card_html(content, "ttlock")
        assert escape("Sign in on Tedee's own page; you never type a key or password here.") in card_html(content, "tedee")

    def test_connected_cards_show_the_account_name_and_lock_counts(self, logged_in, host, make_property, make_lock):
        flat = make_property(name="Flat One")
        make_property(name="Flat Two")
        make_property(name="Lisbon Flat", pms_source=PmsSource.DIRECT_OTA)
        front = make_lock("T1", "ttlock")
        make_lock("T2", "ttlock")
        unavailable_lock(front.account, "T3")
        make_lock("N1", "nuki")
        LockAssignment.objects.create(property=flat, lock=front)
        ProviderAccount.objects.filter(provider="ttlock").update(display_name="ada@example.com")
        ProviderAccount.objects.filter(provider="nuki").update(display_name="Ada Host (Nuki Web)")

        content = logged_in.get(reverse("integrations:index")).content.decode()
        ttlock = card_html(content, "ttlock")
        assert "<strong>ada@example.com</strong>" in ttlock and "Connected" in ttlock
        assert "3 locks, 1 assigned" in ttlock and "Not connected" not in ttlock
        assert f'href="{panel_url("ttlock")}"' in ttlock and "Manage TTLock" in ttlock
        nuki = card_html(content, "nuki")
        assert "<strong>Ada Host (Nuki Web)</strong>" in nuki and "1 lock, 0 assigned" in nuki
        for provider in ("tedee", "igloohome"):
            assert "Not connected." in card_html(content, provider)
        assert "2 of your 3 properties can have a smart lock; 1 have one." in content

    def test_a_disconnected_account_shows_as_not_connected(self, logged_in, make_lock):
        make_lock("T1", "ttlock")
        ProviderAccount.objects.filter(provider="ttlock").update(status=AccountStatus.DISCONNECTED, display_name="old@example.com")
        card = card_html(logged_in.get(reverse("integrations:index")).content.decode(), "ttlock")
        assert "Not connected." in card
        assert "old@example.com" not in card and "Disconnected" not in card
        assert "1 lock" not in card and "assigned" not in card and "Manage TTLock" not in card

    def test_an_account_needing_reconnection_says_so_on_its_card(self, logged_in, make_lock):
        make_lock("N1", "nuki")
        ProviderAccount.objects.filter(provider="nuki").update(status=AccountStatus.NEEDS_RECONNECT)
        card = card_html(logged_in.get(reverse("integrations:index")).content.decode(), "nuki")
        assert "Needs reconnecting" in card and "Sign in again to keep creating codes." in card
        assert "nuki account" in card and "1 lock, 0 assigned" in card


# --- a provider's panel ------------------------------------------------------------------------------

class TestPanelNotConnected:
    def test_login_is_required(self, client):
        url = panel_url("ttlock")
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == f"{reverse('login')}?next={url}"

    def test_an_unknown_provider_is_a_404(self, logged_in, make_property):
        prop = make_property()
        assert logged_in.get("/integrations/august/").status_code == 404
        assert logged_in.get(reverse("integrations:disconnect", args=["august"])).status_code == 404
        assert logged_in.post(reverse("integrations:refresh_locks", args=["august"])).status_code == 404
        assert logged_in.post(save_url("august", prop), row_fields(prop, "1")).status_code == 404
        assert logged_in.post(remove_url("august", prop)).status_code == 404

    @pytest.mark.parametrize("provider", ["ttlock", "tedee", "nuki", "igloohome", "homeit"])
    def test_the_panel_says_what_the_provider_declares_about_signing_in(self, logged_in, provider):
        declared = registry.provider_class(provider)
        content = logged_in.get(panel_url(provider)).content.decode()
        for note in declared.connect_notes:
            assert f"<p>{escape(note)}</p>" in content
        for note in declared.connect_fine_print:
            assert f'<p class="muted">{escape(note)}</p>' in content
        if not declared.connect_notes and not declared.connect_fine_print:
            assert f'<p class="muted">{escape(declared.connect_hint)}</p>' in content

    def test_ttlock_shows_the_username_and_password_form(self, logged_in):
        response = logged_in.get(panel_url("ttlock"))
        content = response.content.decode()
        assert response.status_code == 200
        assert '<form method="post" action="/locks/connect/ttlock/" novalidate>' in content
        assert 'name="username"' in content and 'type="password" name="password"' in content
        assert "TTLock app username" in content and "csrfmiddlewaretoken" in content
        assert "Connect TTLock</button>" in content
        assert "Lock assignments" not in content and "Disconnect" not in content

    def test_tedee_shows_an_oauth_link_and_no_form_fields(self, logged_in):
        content = logged_in.get(panel_url("tedee")).content.decode()
        assert '<a class="button" href="/locks/connect/tedee/">Connect Tedee</a>' in content
        assert 'name="password"' not in content and 'name="client_secret"' not in content and 'name="token"' not in content
        assert "Lock assignments" not in content

    def test_nuki_shows_the_token_form_without_oauth_when_not_configured(self, logged_in, settings):
        settings.NUKI_CLIENT_ID, settings.NUKI_CLIENT_SECRET = "", ""
        content = logged_in.get(panel_url("nuki")).content.decode()
        assert '<form method="post" action="/locks/connect/nuki/" novalidate>' in content
        assert 'type="password" name="token"' in content and "Connect Nuki</button>" in content
        assert "Sign in with Nuki" not in content and "/locks/connect/nuki/oauth/" not in content

    @pytest.mark.parametrize("client_id, secret", [("nuki-client", ""), ("", "nuki-secret")])
    def test_nuki_oauth_needs_both_the_client_id_and_the_secret(self, logged_in, settings, client_id, secret):
        settings.NUKI_CLIENT_ID, settings.NUKI_CLIENT_SECRET = client_id, secret
        assert "Sign in with Nuki" not in logged_in.get(panel_url("nuki")).content.decode()

    def test_nuki_offers_sign_in_with_nuki_when_configured(self, logged_in, settings):
        settings.NUKI_CLIENT_ID, settings.NUKI_CLIENT_SECRET = "nuki-client", "nuki-secret"
        content = logged_in.get(panel_url("nuki")).content.decode()
        assert '<a class="button" href="/locks/connect/nuki/oauth/">Sign in with Nuki</a>' in content
        assert 'type="password" name="token"' in content  # the token stays possible

    def test_igloohome_shows_the_client_id_and_secret_form(self, logged_in):
        content = logged_in.get(panel_url("igloohome")).content.decode()
        assert '<form method="post" action="/locks/connect/igloohome/" novalidate>' in content
        assert 'name="client_id"' in content and 'type="password" name="client_secret"' in content
        assert "Connect igloohome</button>" in content

    def test_a_disconnected_account_gets_the_connect_form_again(self, logged_in, make_property, make_lock):
        make_property()
        make_lock("T1", "ttlock")
        ProviderAccount.objects.filter(provider="ttlock").update(status=AccountStatus.DISCONNECTED)
        content = logged_in.get(panel_url("ttlock")).content.decode()
        assert 'action="/locks/connect/ttlock/"' in content and "Lock assignments" not in content
        assert reverse("integrations:disconnect", args=["ttlock"]) not in content


class TestPanelConnected:
    def test_account_name_disconnect_link_and_one_row_per_eligible_property(self, logged_in, host, make_property, make_lock):
        eligible = [make_property(name="Alpine Chalet"), make_property(name="Beach House")]
        ineligible = [
            make_property(name="Direct OTA Loft", pms_source=PmsSource.DIRECT_OTA),
            make_property(name="Other PMS Villa", pms_source=PmsSource.OTHER_PMS),
            make_property(name="Unsubscribed Studio", ai_assistant_active=False),
        ]
        make_lock("T1", "ttlock")
        ProviderAccount.objects.filter(provider="ttlock").update(display_name="ada@example.com")

        response = logged_in.get(panel_url("ttlock"))
        content = response.content.decode()
        assert response.status_code == 200
        assert "Connected account: <strong>ada@example.com</strong>" in content
        assert f'<a href="{reverse("integrations:disconnect", args=["ttlock"])}">Disconnect</a>' in content
        assert "Lock assignments" in content
        assert 'name="password"' not in content  # connected: no sign-in form
        assert re.findall(r'<li class="assignment" id="property-(\d+)">', content) == [str(p.pk) for p in eligible]
        assert [row.property for row in response.context["rows"]] == eligible
        for prop in ineligible:
            assert prop.name not in content and row_html(content, prop) == ""

    def test_no_eligible_property_says_why(self, logged_in, make_property, make_lock):
        make_property(name="Direct OTA Loft", pms_source=PmsSource.DIRECT_OTA)
        make_lock("T1", "ttlock")
        content = logged_in.get(panel_url("ttlock")).content.decode()
        assert "None of your properties can have a smart lock yet" in content
        assert "Direct OTA Loft" not in content

    def test_the_lock_dropdown_disables_unavailable_locks_with_their_reason(self, logged_in, make_property, make_lock):
        prop = make_property()
        front = make_lock("T1", "ttlock")
        garage = unavailable_lock(front.account, "T2", reason="The lock is not linked to a gateway.")
        back = make_lock("T3", "ttlock")
        Lock.objects.filter(pk=back.pk).update(is_online=False)

        content = logged_in.get(edit_url("ttlock", prop)).content.decode()
        options = options_of(row_html(content, prop), f"p{prop.pk}-lock")
        assert options[0] == {"value": "", "label": "— No lock —", "disabled": False, "selected": False}
        by_value = {option["value"]: option for option in options[1:]}
        assert by_value[str(front.pk)] == {"value": str(front.pk), "label": "Door T1", "disabled": False, "selected": False}
        assert by_value[str(garage.pk)]["disabled"] is True
        assert by_value[str(garage.pk)]["label"] == "Door T2 — unavailable: The lock is not linked to a gateway."
        assert by_value[str(back.pk)] == {
            "value": str(back.pk), "label": "Door T3 (offline now; codes are retried)", "disabled": False, "selected": False,
        }
        assert "unavailable — The lock is not linked to a gateway." in content  # the lock list above the rows

    def test_an_offline_lock_whose_codes_live_in_the_cloud_says_they_reach_it_later(self, logged_in, make_property, make_lock):
        prop = make_property()
        box = make_lock("H1", "homeit")
        Lock.objects.filter(pk=box.pk).update(is_online=False)
        options = options_of(row_html(logged_in.get(edit_url("homeit", prop)).content.decode(), prop), f"p{prop.pk}-lock")
        (option,) = [option for option in options if option["value"] == str(box.pk)]
        assert option["label"] == "Door H1 (offline now; codes reach it when it is back)"

    def test_an_assigned_lock_is_selected_and_named_in_other_rows(self, logged_in, make_property, make_lock):
        first, second = make_property(name="Alpine Chalet"), make_property(name="Beach House")
        lock = make_lock("T1", "ttlock")
        LockAssignment.objects.create(property=first, lock=lock, lead_days=9, margin_minutes=75, code_source=CodeSource.GUEST_PHONE)
        content = logged_in.get(panel_url("ttlock")).content.decode()
        summary = row_html(content, first)  # the rows are summaries until one is edited
        assert "<strong>Door T1</strong> · codes made 9 days before arrival · access margin 75 min" in summary
        assert "code source: last 6 digits of the guest&#x27;s phone" in summary and ">Remove</button>" in summary
        assert f"p{first.pk}-lock" not in content and f"p{second.pk}-lock" not in content
        mine = row_html(logged_in.get(edit_url("ttlock", first)).content.decode(), first)
        (option,) = [o for o in options_of(mine, f"p{first.pk}-lock") if o["value"] == str(lock.pk)]
        assert option["selected"] and option["label"] == "Door T1"
        assert input_value(mine, f"p{first.pk}-lead_days") == "9" and input_value(mine, f"p{first.pk}-margin_minutes") == "75"
        assert '<option value="guest_phone" selected>' in mine
        assert f'formaction="{remove_url("ttlock", first)}"' in mine and ">Remove</button>" in mine
        other = row_html(logged_in.get(edit_url("ttlock", second)).content.decode(), second)
        (option,) = [o for o in options_of(other, f"p{second.pk}-lock") if o["value"] == str(lock.pk)]
        assert not option["selected"] and option["label"] == "Door T1 — assigned to Alpine Chalet"
        assert ">Remove</button>" not in other

    @pytest.mark.parametrize("provider", ["ttlock", "tedee", "nuki"])
    def test_code_source_is_offered_where_chosen_pins_are_taken(self, logged_in, make_property, make_lock, provider):
        prop = make_property()
        make_lock("L1", provider)
        row = row_html(logged_in.get(edit_url(provider, prop)).content.decode(), prop)
        assert f'<label for="id_p{prop.pk}-code_source">Code source</label>' in row
        options = options_of(row, f"p{prop.pk}-code_source")
        assert [(o["value"], o["label"]) for o in options] == [
            ("random", "Random 6-digit PIN"), ("guest_phone", escape("Last 6 digits of the guest's phone")),
        ]
        assert [o["value"] for o in options if o["selected"]] in ([], ["random"])  # the first one, random, by default

    def test_igloohome_has_no_code_source(self, logged_in, make_property, make_lock):
        prop = make_property()
        make_lock("IG1", "igloohome")
        content = logged_in.get(edit_url("igloohome", prop)).content.decode()
        row = row_html(content, prop)
        assert row and "Code source" not in content and f"p{prop.pk}-code_source" not in row

    @pytest.mark.parametrize("provider", PROVIDERS)
    def test_labels_are_verbatim_and_defaults_are_5_and_30(self, logged_in, make_property, make_lock, provider):
        prop = make_property()
        make_lock("L1", provider)
        row = row_html(logged_in.get(edit_url(provider, prop)).content.decode(), prop)
        assert f'<label for="id_p{prop.pk}-lead_days">Generate codes X days before arrival</label>' in row
        assert f'<label for="id_p{prop.pk}-margin_minutes">Access margin</label>' in row
        assert input_value(row, f"p{prop.pk}-lead_days") == "5"
        assert input_value(row, f"p{prop.pk}-margin_minutes") == "30"
        assert f'action="{save_url(provider, prop)}"' in row and f'hx-post="{save_url(provider, prop)}"' in row

    def test_a_property_with_another_brands_lock_says_so_in_its_row(self, logged_in, assigned_property, make_lock):
        prop = assigned_property(provider="nuki", vendor_lock_id="N1")
        make_lock("T1", "ttlock")
        row = row_html(logged_in.get(edit_url("ttlock", prop)).content.decode(), prop)
        assert "This property already has a Nuki lock (Door N1). Remove it in the Nuki panel before assigning a TTLock lock here." in row
        assert all(not option["selected"] for option in options_of(row, f"p{prop.pk}-lock")[1:])
        assert ">Remove</button>" not in row  # that lock is removed in the Nuki panel

    def test_needs_reconnect_shows_the_warning_and_the_sign_in_form(self, logged_in, make_property, make_lock):
        prop = make_property()
        make_lock("T1", "ttlock")
        ProviderAccount.objects.filter(provider="ttlock").update(
            status=AccountStatus.NEEDS_RECONNECT, last_error="TTLock refused the token."
        )
        content = logged_in.get(panel_url("ttlock")).content.decode()
        assert "(Needs reconnecting)" in content
        assert "TTLock no longer accepts Nowistay's access (TTLock refused the token.)" in content
        assert "Sign in again</h2>" in content
        assert 'action="/locks/connect/ttlock/"' in content and 'name="password"' in content
        assert row_html(content, prop)  # the assignments stay visible and editable

    def test_needs_reconnect_for_tedee_offers_the_oauth_button_again(self, logged_in, make_lock):
        make_lock("E1", "tedee")
        ProviderAccount.objects.filter(provider="tedee").update(status=AccountStatus.NEEDS_RECONNECT)
        content = logged_in.get(panel_url("tedee")).content.decode()
        assert "Sign in again</h2>" in content and 'href="/locks/connect/tedee/">Connect Tedee</a>' in content


class TestEscaping:
    def test_names_from_hosts_and_vendors_are_escaped_everywhere(self, logged_in, make_property, make_lock, stay):
        evil_property = '<script>alert("p")</script> Flat'
        evil_lock = '<img src=x onerror=alert("l")>'
        prop = make_property(name=evil_property)
        lock = make_lock("T1", "ttlock")
        Lock.objects.filter(pk=lock.pk).update(name=evil_lock)
        ProviderAccount.objects.filter(provider="ttlock").update(display_name='<b onmouseover="x">ada</b>')
        stay(prop, arrive_in=12, guest_name='<svg onload=alert("g")>')
        response = logged_in.post(save_url("ttlock", prop), row_fields(prop, lock.pk), follow=True)
        pages = [
            response.content.decode(),
            logged_in.get(reverse("integrations:index")).content.decode(),
            logged_in.get(reverse("integrations:disconnect", args=["ttlock"])).content.decode(),
            logged_in.get(reverse("bookings:codes")).content.decode(),
            logged_in.get(reverse("bookings:properties")).content.decode(),
            logged_in.post(save_url("ttlock", prop), row_fields(prop, lock.pk), headers={"HX-Request": "true"}).content.decode(),
        ]
        for content in pages:
            for raw in (evil_property, evil_lock, '<b onmouseover="x">', '<svg onload=alert("g")>'):
                assert raw not in content
        assert escape(f"Saved: {evil_lock} opens {evil_property}.") in pages[0]
        assert escape(evil_lock) in pages[0] and escape(evil_property) in pages[3]


# --- refreshing the locks ------------------------------------------------------------------------------

class TestRefreshLocks:
    def test_refresh_reads_the_locks_from_the_vendor_and_counts_them(self, logged_in, make_lock, fake_cloud):
        make_lock("L1", "ttlock")
        fake_cloud.add_lock("L2", "Garage", supports_remote_codes=False, unavailable_reason="The lock is not linked to a gateway.")
        fake_cloud.add_lock("L3", "Back door", online=False)
        calls_before = fake_cloud.calls["list_locks"]

        response = logged_in.post(reverse("integrations:refresh_locks", args=["ttlock"]), follow=True)
        assert response.redirect_chain == [(panel_url("ttlock"), 302)]
        assert fake_cloud.calls["list_locks"] == calls_before + 1
        assert "Locks refreshed: 3 found, 2 can take guest codes." in response.content.decode()
        locks = {lock.vendor_lock_id: lock for lock in Lock.objects.all()}
        assert set(locks) == {"L1", "L2", "L3"}
        assert locks["L1"].name == "Lock L1" and locks["L1"].is_online is True  # the vendor's name now
        assert not locks["L2"].supports_remote_codes and locks["L2"].unavailable_reason == "The lock is not linked to a gateway."
        assert locks["L3"].supports_remote_codes and locks["L3"].is_online is False
        content = response.content.decode()
        assert "3 locks in this account" in content
        assert re.search(r"<li>Garage:\s*<span class=\"muted\">unavailable — The lock is not linked to a gateway.</span>", content)
        assert re.search(r"<li>Back door:\s*available, offline now", content)

    def test_a_vendor_failure_shows_an_error_and_keeps_the_old_list(self, logged_in, make_lock, fake_cloud):
        make_lock("L1", "ttlock")
        fake_cloud.add_lock("L2", "Garage")
        fake_cloud.fail_next("list_locks", VendorUnavailable("TTLock could not be reached."))
        locks_before = list(Lock.objects.values())

        response = logged_in.post(reverse("integrations:refresh_locks", args=["ttlock"]))
        assert response.status_code == 302 and response["Location"] == panel_url("ttlock")
        assert messages_of(response) == [
            "The locks could not be read from TTLock: TTLock could not be reached. The list shown is the last one read."
        ]
        assert list(Lock.objects.values()) == locks_before
        content = logged_in.get(panel_url("ttlock")).content.decode()
        assert "1 lock in this account" in content and "Door L1" in content and "Garage" not in content

    def test_an_auth_error_asks_the_host_to_sign_in_again(self, logged_in, make_lock, fake_cloud):
        from locks.providers.exceptions import ProviderAuthError

        make_lock("L1", "ttlock")
        fake_cloud.fail_next("list_locks", ProviderAuthError("TTLock no longer accepts Nowistay's access token."))
        response = logged_in.post(reverse("integrations:refresh_locks", args=["ttlock"]))
        assert response.status_code == 302 and messages_of(response)[0].startswith("The locks could not be read from TTLock")
        assert ProviderAccount.objects.get(provider="ttlock").status == AccountStatus.NEEDS_RECONNECT
        content = logged_in.get(panel_url("ttlock")).content.decode()
        assert "Sign in again</h2>" in content and 'name="password"' in content

    def test_refresh_needs_post_and_a_connected_account(self, logged_in, make_lock, fake_cloud):
        url = reverse("integrations:refresh_locks", args=["ttlock"])
        assert logged_in.post(url).status_code == 404  # not connected
        make_lock("L1", "ttlock")
        assert logged_in.get(url).status_code == 405
        assert fake_cloud.calls["list_locks"] == 0
