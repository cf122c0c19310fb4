"""homeit: keys on homeit properties through homeit's Core API v2, signed in with an API key.

homeit (Portugal) equips a short-term rental with a homeit BOX wired to its doors and keypad. A
homeit *key* is issued per guest and stay; it is an invitation link and, where the property has a
keypad, a keypad code that homeit generates. This provider hands both back: the code as
`IssuedCode.pin`, the link as `IssuedCode.access_link` (`Capabilities.access_links`).

Sources
-------
- [H-CORE] Core API v2 reference, introduction (2.7 and 2.6.4): https://docs.homeit.io/docs/api/core/v2/
- [H-AUTH] Auth API v2 reference, introduction (2.2): https://docs.homeit.io/docs/api/auth/v2/
- [H-V1] legacy v1 reference, introduction: https://api.homeit.io/v1/docs/
- [H-FAQ] homeit FAQ (vacation rentals): https://homeit.io/en/faqs/
- [H-WEB] help centre, the new web app (Spanish): https://homeit.freshdesk.com/es/support/solutions/articles/42000071644
- [H-ZAP] Zapier's homeit page: https://zapier.com/apps/homeit/integrations

Only the introductions of the API references were readable; what they do not settle is marked
UNVERIFIED below with the decision taken (the sandbox cloud and the test emulator follow the same
decisions, so a correction here is a correction there too).

Verified facts
--------------
- Core API at https://api.homeit.io/v2, Auth API at https://auth.homeit.io/v2 [H-CORE, H-AUTH].
  The Core API views properties, creates keys and lists entry logs; channel managers issue a key
  per reservation [H-CORE].
- REST with resource URLs; HTTP statuses signal errors; HTTPS only [H-CORE, H-V1]. Routes follow
  one pattern: GET/POST /{resource}, GET/PUT/DELETE /{resource}/{id}; keys are `/keys`, e.g.
  `PUT /v2/keys/123456` renames key 123456 [H-CORE, H-AUTH].
- Authentication is an API key or a JWT Bearer token; unauthenticated calls fail [H-CORE 2.6.4].
- Requests are `application/json`; answers are "always" `application/json+hal` (sic), so JSON is
  parsed whatever the content type says [H-CORE 2.6.4]. "All operations are automatically
  paginated" [H-CORE 2.6.4].
- The Auth API manages the organization and API keys; OAuth 2 exists for integration platforms
  [H-AUTH]. Integrators ask hosts for an API key in one field (a PMS's connect form; Zapier's
  "other" authentication, not OAuth) [H-ZAP].
- A key is issued per guest and stay, its code unique per guest and stay, and it is deleted for
  good after the check-out date [H-FAQ]. Keys are created on a property; temporary keys have
  validity dates [H-WEB].
- Every key has an invitation link the host shares; it opens a page with a slide button per door
  and, when the property has a keypad, the key's keypad code [H-WEB]. Guests may also type the
  code on the keypad [H-FAQ]: a key is a link and, with a keypad, a PIN [H-WEB, H-ZAP].
- An SOS key stored in the BOX works on the keypad when the BOX is offline [H-FAQ]; other keys
  need the BOX online to open doors (an inference).

Decisions where the sources are silent (UNVERIFIED)
---------------------------------------------------
- The API key travels in `X-API-Key` (API_KEY_HEADER). OAuth 2 is not used: its grants, URLs and
  scopes are not public. The account is named after `GET {auth}/organizations` (first item's
  `name`), "homeit" when that fails; the key itself is proven with `GET {api}/properties`.
- Properties: `GET /properties[/{id}]`, fields {id (number), name, timezone (IANA), online (BOX
  reachable), keypad (bool), doors}. A property is this provider's lock (`vendor_lock_id` = its id);
  one without a keypad is not eligible (its keys would be links only). A key that comes back
  without a code all the same (created, moved or found by name) is deleted at once, its link alone
  opening the doors; a delete that fails is OutcomeUnknown, so it is looked for by name again. A
  move that withdrew its key answers CodeNotFound: the key is gone, so a new one is made.
- Keys: `POST /keys` {name, type "temporary", property, start, end} -> {id, name, property, start,
  end, code (null without keypad), link}; `GET /keys?property=&name=`; `PUT /keys/{id}` takes any
  of name, start, end and keeps the code and link; `DELETE /keys/{id}`. homeit generates the code,
  so none is ever sent (`chosen_pins` False) and its length is not checked.
- Times are sent in ISO 8601 with the property's own offset (naive times would be refused);
  answers are read in any offset. A PUT whose answer shows another window than the one asked for
  is not believed: OperationNotSupported, never a silent mismatch.
- Pages are HAL (`_embedded.<resource>`, `_links.next`); the provider follows `_links.next.href`
  (on homeit's own host only: the API key goes with it) and never builds page parameters.
- Statuses decide, never error bodies: 401 ProviderAuthError; 403/404 on a property LockNotFound;
  404 on a key: the property is read, LockNotFound if it is gone too, else the key is gone (a
  delete succeeds, an update is CodeNotFound); 400/415/422 on a key write CodeRejected; 429
  RateLimited (Retry-After); 5xx VendorUnavailable, except 502/504 or an unreadable 2xx answer to a
  create, which may hide a key: OutcomeUnknown, then `find_code` by the deterministic name.
- Keys are cloud records: they are written while the BOX is offline and open the doors once it is
  back. A create on an offline property succeeds with a warning for the host.
- Listing delay: the default two minutes (nothing documented; keys are cloud records).
- The keypad code and the link both open the doors: neither ever reaches a log line or a message.
"""

from locks.providers.homeit.provider import HomeitProvider

__all__ = ["HomeitProvider"]
