"""The API's description in its OpenAPI document (and the docs page): what every operation shares."""

DESCRIPTION = """\
The bookings of your properties, pushed by your PMS, and the state of each guest's door code.

**Authentication**: `Authorization: Bearer <token>`. A host creates tokens under Settings → API
tokens (at most 10 active at once by default); a token sees only that host's properties and
bookings. An unknown, revoked or expired token gets 401 with `WWW-Authenticate: Bearer
realm="api"`, the same answer for each. Tokens may expire (chosen when created: 30, 90 or 365
days, or never). The guest's PIN is returned only to tokens with the `read_pins` scope.

**Idempotent upsert**: `PUT /bookings/{external_ref}/` creates the booking the first time and
replaces it afterwards; sending the same PUT again leaves the booking as it is and never creates
a second booking or code. The door code follows every change on its own (created, moved, revoked).
A cancelled booking may be confirmed again (PUT or PATCH with `"status": "confirmed"`): it gets a
new code; the one retired at the cancellation never comes back.

**Dates and times**: dates `YYYY-MM-DD`, from 2000-01-01 to 2099-12-31; times of day `HH:MM` in
the property's time zone; timestamps in responses are ISO 8601, in UTC and (`*_local`) in the
property's time zone.

**Errors**: 400 `{"detail", "errors": [{"field", "message"}]}` for invalid input (field names
as in the request); 401, 404, 409 (an action refused in the booking's present state), 422 (an
Idempotency-Key sent with another request) and 429 `{"detail"}`. Another host's objects answer 404.

**Rate limits**: requests count per host, all its tokens together (default 120 a minute); over it,
429 with `Retry-After` seconds. Failed authentications count per client address (default 20 in
10 minutes); over it, every request with a bearer token from that address, a valid one too, gets
429 with `Retry-After` until the window ends.

**Idempotency-Key**: every POST, PUT and PATCH takes an optional `Idempotency-Key` header (1 to 255
printable ASCII characters, e.g. a UUID; otherwise 400), per host. The first request with a key is
answered as usual and its answer (any status below 500) kept for 24 hours. The same key with the
same method, path and body within 24 hours gets that answer again, with `Idempotent-Replayed:
true`, and nothing is done twice; the same key with another request gets 422; a request sent
while the first one is still being answered gets 409. A 5xx answer frees the key.

**Code errors and warnings**: `code.errors` lists what is wrong with the guest's code now and
`code.warnings` what works but deserves a look; each has a `code`, a `since` (UTC) and a plain
`message`. Errors: `lock_offline`, `rate_limited`, `vendor_unavailable`, `credentials_revoked`
(reconnect the vendor account), `pin_rejected`, `no_space_on_lock`, `lock_not_found`,
`subscription_required`, `not_supported`, `vendor_error` (while the code is retried or after it
failed), `missing_on_lock` and `modified_externally` (a read-back found it so and put it right;
until a later read-back sees it again), `unrevocable` (a retired code that works until its end).
Warnings: `crosses_clock_change`, `lock_time_zone_mismatch`, `not_confirmed_on_lock`,
`cannot_be_read_back` (the brand cannot list codes), `retrying_past_alert` (still failing after
the moment you are emailed), `fallback_code` (the guest holds an offline or backup code).

**Pagination**: lists take `page` (from 1) and `page_size` (default 20, at most 100) and answer
`{"items": [...], "count": <total>}`.
"""
