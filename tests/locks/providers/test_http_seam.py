import logging

import pytest
import requests
import responses

from locks.providers.exceptions import OutcomeUnknown, VendorUnavailable
from locks.providers.http import VendorHttp, redact

URL = "https://vendor.example/api/thing"


@responses.activate
def test_a_refused_connection_means_nothing_was_sent():
    responses.add(responses.POST, URL, body=requests.ConnectionError(_refused()))
    with pytest.raises(VendorUnavailable, match="could not be reached"):
        VendorHttp("Vendor").request("POST", URL)


@responses.activate
def test_a_write_whose_answer_is_lost_has_an_unknown_outcome():
    responses.add(responses.POST, URL, body=requests.ReadTimeout())
    with pytest.raises(OutcomeUnknown):
        VendorHttp("Vendor").request("POST", URL)
    responses.add(responses.PUT, URL, body=requests.exceptions.ChunkedEncodingError())
    with pytest.raises(OutcomeUnknown):
        VendorHttp("Vendor").request("PUT", URL)


@responses.activate
def test_a_read_that_times_out_is_simply_unavailable():
    responses.add(responses.GET, URL, body=requests.ReadTimeout())
    with pytest.raises(VendorUnavailable, match="did not answer in time"):
        VendorHttp("Vendor").request("GET", URL)


@responses.activate
def test_garbage_is_a_vendor_failure():
    responses.add(responses.GET, URL, body="<html>oops</html>", status=200)
    http = VendorHttp("Vendor")
    with pytest.raises(VendorUnavailable, match="not JSON"):
        http.json(http.request("GET", URL))


@responses.activate
def test_logs_carry_neither_query_string_nor_body(caplog):
    responses.add(responses.POST, URL, json={"ok": True})
    with caplog.at_level(logging.INFO, logger="locks.providers.http"):
        VendorHttp("Vendor").request("POST", URL + "?accessToken=secret-token", data={"password": "hunter2"})
    assert "Vendor POST https://vendor.example/api/thing -> 200" in caplog.text
    assert "secret-token" not in caplog.text and "hunter2" not in caplog.text


def test_redact_hides_secret_looking_fields_at_any_depth():
    value = {"access_token": "a", "nested": [{"keyboardPwd": "123456", "name": "nw-1"}], "refresh_token": "r", "pin": "1"}
    assert redact(value) == {
        "access_token": "[redacted]",
        "nested": [{"keyboardPwd": "[redacted]", "name": "nw-1"}],
        "refresh_token": "[redacted]",
        "pin": "[redacted]",
    }


def _refused():
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    return MaxRetryError(None, URL, NewConnectionError(None, "Connection refused"))
