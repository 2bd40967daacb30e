"""vilvik.webhooks.verify against known vectors (Standard Webhooks)."""
import time

import pytest

from vilvik import VilvikError, WebhookVerificationError, webhooks

# The Standard Webhooks specification's own sign vector.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

# Ours, computed independently with:
#   printf '%s' 'evt_1.1780488000.{"type":"result.completed","id":"evt_1"}' \
#     | openssl dgst -sha256 -hmac 'vilvik-test-secret-key-32bytes!' -binary | base64
SECRET = "whsec_dmlsdmlrLXRlc3Qtc2VjcmV0LWtleS0zMmJ5dGVzIQ=="  # base64 of vilvik-test-secret-key-32bytes!
BODY = b'{"type":"result.completed","id":"evt_1"}'
TIMESTAMP = 1780488000
SIGNATURE = "v1,tQDENHr8/oDUPIzWoVl0oyLeviViy7K/3GQOWmGmjOw="
HEADERS = {"webhook-id": "evt_1", "webhook-timestamp": str(TIMESTAMP), "webhook-signature": SIGNATURE}


def test_it_signs_like_the_specification():
    assert webhooks.sign(SPEC_BODY, SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP) == SPEC_SIGNATURE
    assert webhooks.sign(BODY, SECRET, "evt_1", TIMESTAMP) == SIGNATURE


def test_it_verifies_a_good_delivery_and_returns_the_event():
    event = webhooks.verify(BODY, HEADERS, SECRET, now=TIMESTAMP + 10)
    assert event == {"type": "result.completed", "id": "evt_1"}
    spec = {"webhook-id": SPEC_ID, "webhook-timestamp": str(SPEC_TIMESTAMP), "webhook-signature": SPEC_SIGNATURE}
    assert webhooks.verify(SPEC_BODY, spec, SPEC_SECRET, now=SPEC_TIMESTAMP) == {"test": 2432232314}


def test_header_names_may_come_in_any_case_and_the_body_as_text():
    headers = {"Webhook-Id": "evt_1", "WEBHOOK-TIMESTAMP": str(TIMESTAMP), "Webhook-Signature": SIGNATURE}
    assert webhooks.verify(BODY.decode(), headers, SECRET, now=TIMESTAMP)["id"] == "evt_1"


def test_one_matching_signature_among_several_is_enough():
    several = " ".join(["v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", "v2,whatever", SIGNATURE])
    assert webhooks.verify(BODY, dict(HEADERS, **{"webhook-signature": several}), SECRET, now=TIMESTAMP)


@pytest.mark.parametrize("change", [
    {"body": BODY.replace(b"evt_1", b"evt_2")},
    {"headers": {"webhook-id": "evt_2"}},
    {"headers": {"webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}},
    {"headers": {"webhook-signature": SIGNATURE.replace("v1,", "v2,")}},
    {"headers": {"webhook-signature": "v1,"}},
    {"headers": {"webhook-timestamp": str(TIMESTAMP + 1)}},
    {"secret": "whsec_" + "b3RoZXItc2VjcmV0"},
])
def test_a_changed_body_id_timestamp_signature_or_secret_is_refused(change):
    headers = dict(HEADERS, **change.get("headers", {}))
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(change.get("body", BODY), headers, change.get("secret", SECRET), now=TIMESTAMP)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_refused(missing):
    headers = {name: value for name, value in HEADERS.items() if name != missing}
    with pytest.raises(WebhookVerificationError, match="missing"):
        webhooks.verify(BODY, headers, SECRET, now=TIMESTAMP)


@pytest.mark.parametrize("offset, accepted", [(-301, False), (-299, True), (0, True), (299, True), (301, False)])
def test_the_timestamp_must_be_within_five_minutes(offset, accepted):
    now = TIMESTAMP - offset  # the delivery was signed `offset` seconds from `now`
    if accepted:
        assert webhooks.verify(BODY, HEADERS, SECRET, now=now)
    else:
        with pytest.raises(WebhookVerificationError, match="timestamp"):
            webhooks.verify(BODY, HEADERS, SECRET, now=now)


def test_a_timestamp_that_is_not_a_number_is_refused():
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, dict(HEADERS, **{"webhook-timestamp": "yesterday"}), SECRET, now=TIMESTAMP)


def test_it_uses_the_current_time_by_default():
    for age, accepted in ((10, True), (400, False)):
        stamp = int(time.time()) - age
        headers = {"webhook-id": "evt_1", "webhook-timestamp": str(stamp),
                   "webhook-signature": webhooks.sign(BODY, SECRET, "evt_1", stamp)}
        if accepted:
            assert webhooks.verify(BODY, headers, SECRET)["id"] == "evt_1"
        else:
            with pytest.raises(WebhookVerificationError, match="too old"):
                webhooks.verify(BODY, headers, SECRET)


def test_a_bad_secret_is_refused_and_a_raw_key_accepted():
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, HEADERS, "whsec_not base64!", now=TIMESTAMP)
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, HEADERS, "", now=TIMESTAMP)
    assert webhooks.verify(BODY, HEADERS, b"vilvik-test-secret-key-32bytes!", now=TIMESTAMP)
    assert webhooks.verify(BODY, HEADERS, SECRET[len("whsec_"):], now=TIMESTAMP)  # without the prefix


def test_parsed_json_is_not_a_payload():
    with pytest.raises(TypeError, match="raw request body"):
        webhooks.verify({"type": "result.completed"}, HEADERS, SECRET, now=TIMESTAMP)


def test_verification_errors_are_vilvik_errors():
    assert issubclass(WebhookVerificationError, VilvikError)
