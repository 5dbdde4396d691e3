"""Unit tests for oo.integrations.webpush: RFC 8291/8292/8030 behaviour, offline (W1-W7)."""

from __future__ import annotations

import base64
import json
import logging
import struct
import time

import http_ece
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from oo.integrations import push_subscription, webpush
from oo.integrations.push_subscription import InvalidSubscription, Subscription, parse_subscription
from oo.integrations.webpush import (
    DeliveryResult,
    WebPushSender,
    classify_response,
    encrypt_payload,
    generate_vapid_keys,
    make_topic,
    validate_topic,
)
from tests.fakes.push_service import PushRejected, b64d, b64e, decrypt_body, derive, point, verify_vapid

# RFC 8291 §5 "Push Message Encryption Example" and Appendix A "Intermediate Values".
RFC_PLAINTEXT = b"When I grow up, I want to be a watermelon"
RFC_AS_PUBLIC = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
RFC_AS_PRIVATE = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
RFC_UA_PUBLIC = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
RFC_UA_PRIVATE = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
RFC_SALT = "DGv6ra1nlYgDCS1FRnbzlw"
RFC_AUTH = "BTBZMqHH6r4Tts7J_aSIgg"
RFC_BODY = (
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6T"
    "lzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
)
RFC_INTERMEDIATES = {
    "ecdh_secret": "kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs",
    "PRK_key": "Snr3JMxaHVDXHWJn5wdC52WjpCtd2EIEGBykDcZW32k",
    "key_info": "V2ViUHVzaDogaW5mbwAEJXGyvs3942BVGq8e0PTNNmwRzr5VX4m8t7GGpTM5FzFo7OLr4BhZe9MEebhuPI-OztV3ylkY"
    "fpJGmQ22ggCLDgT-M_SrDepxkU21WCP3O1SUj0EwbZIHMtu5pZpTKGSCIA5Zent7wmC6HCJ5mFgJkuk5cwAvMBKiiujwa7t45ewP",
    "IKM": "S4lYMb_L0FxCeq0WhDx813KgSYqU26kOyzWUdsXYyrg",
    "PRK": "09_eUZGrsvxChDCGRCdkLiDXrReGOEVeSCdCcPBSJSc",
    "cek_info": "Q29udGVudC1FbmNvZGluZzogYWVzMTI4Z2NtAA",
    "CEK": "oIhVW04MRdy2XN9CiKLxTg",
    "nonce_info": "Q29udGVudC1FbmNvZGluZzogbm9uY2UA",
    "NONCE": "4h_95klXJ5E_qnoN",
}
# RFC 8292 §2.4 example token and the §3.2 public key (JWK x/y of §2.4).
RFC8292_TOKEN = (
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZS5uZXQiLCJleHAiOjE0NTM1MjM3Nj"
    "gsInN1YiI6Im1haWx0bzpwdXNoQGV4YW1wbGUuY29tIn0.i3CYb7t4xfxCDquptFOepC9GAu_HLGkMlMuCGSK2rpiUfnK9ojFwDXb1Jr"
    "ErtmysazNjjvW2L9OkSSHzvoD1oA"
)
RFC8292_KEY = "BA1Hxzyi1RUM1b5wjxsn7nGxAszw2u61m164i3MrAIxHF6YK5h4SDYic-dRuU_RCPCfA5aq9ojSwk5Y2EmClBPs"

FCM = "https://fcm.googleapis.com/fcm/send/abc123"
VAPID = generate_vapid_keys()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _key(raw: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(b64d(raw), "big"), ec.SECP256R1())


def _browser(endpoint: str = FCM) -> tuple[Subscription, ec.EllipticCurvePrivateKey, bytes]:
    key, auth = ec.generate_private_key(ec.SECP256R1()), b"\x01" * 16
    return Subscription(endpoint, b64e(point(key)), b64e(auth)), key, auth


def _sender(handler, **kwargs) -> WebPushSender:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return WebPushSender(VAPID.private_key, "mailto:ops@oo.example", http=http, **kwargs)


RFC_SUB = Subscription("https://push.example.net/x", RFC_UA_PUBLIC, RFC_AUTH)


def test_encrypt_payload_matches_rfc8291_example_byte_for_byte():
    body = encrypt_payload(RFC_PLAINTEXT, RFC_SUB, salt=b64d(RFC_SALT), sender_key=_key(RFC_AS_PRIVATE))
    assert b64e(body) == RFC_BODY
    assert len(body) == 144


def test_rfc8291_keys_and_intermediates_match_appendix_a():
    assert b64e(point(_key(RFC_AS_PRIVATE))) == RFC_AS_PUBLIC
    assert b64e(point(_key(RFC_UA_PRIVATE))) == RFC_UA_PUBLIC
    values = derive(_key(RFC_UA_PRIVATE), b64d(RFC_AS_PUBLIC), b64d(RFC_AUTH), b64d(RFC_SALT))
    assert {name: b64e(values[name]) for name in RFC_INTERMEDIATES} == RFC_INTERMEDIATES


def test_rfc8291_example_body_decrypts_with_receiver_key():
    assert (
        decrypt_body(b64d(RFC_BODY), private_key=_key(RFC_UA_PRIVATE), auth=b64d(RFC_AUTH)) == RFC_PLAINTEXT
    )
    assert http_ece.decrypt(b64d(RFC_BODY), private_key=_key(RFC_UA_PRIVATE), auth_secret=b64d(RFC_AUTH)) == (
        RFC_PLAINTEXT
    )


def test_encrypt_payload_round_trips_with_independent_decryption():
    sub, key, auth = _browser()
    assert decrypt_body(encrypt_payload(b'{"a":1}', sub), private_key=key, auth=auth) == b'{"a":1}'


def test_encrypt_payload_is_one_record_with_65_byte_keyid_and_0x02_delimiter():
    sub, key, auth = _browser()
    sender_key = ec.generate_private_key(ec.SECP256R1())
    body = encrypt_payload(b"x" * webpush.MAX_PLAINTEXT, sub, sender_key=sender_key)
    salt, (rs,), idlen = body[:16], struct.unpack("!L", body[16:20]), body[20]
    assert (rs, idlen, body[21:86]) == (4096, 65, point(sender_key))
    assert len(body) == 4096 and len(body) - 86 <= rs
    v = derive(key, body[21:86], auth, salt)
    assert AESGCM(v["CEK"]).decrypt(v["NONCE"], body[86:], None)[-1:] == b"\x02"


def test_encrypt_payload_refuses_more_than_3993_bytes():
    with pytest.raises(ValueError, match="3993"):
        encrypt_payload(b"x" * 3994, _browser()[0])


def test_fake_decryption_refuses_multi_record_and_oversized_bodies():
    _, key, auth = _browser()
    two_records = http_ece.encrypt(
        b"x" * 100,
        private_key=ec.generate_private_key(ec.SECP256R1()),
        dh=point(key),
        auth_secret=auth,
        rs=64,
    )
    with pytest.raises(PushRejected, match="more than one record"):
        decrypt_body(two_records, private_key=key, auth=auth)
    with pytest.raises(PushRejected) as info:
        decrypt_body(b"\x00" * 4097, private_key=key, auth=auth)
    assert info.value.status == 413


def test_generate_vapid_keys_gives_raw_private_and_uncompressed_public():
    keys = generate_vapid_keys()
    assert len(b64d(keys.private_key)) == 32
    assert b64e(point(_key(keys.private_key))) == keys.public_key
    assert len(b64d(keys.public_key)) == 65 and b64d(keys.public_key)[0] == 4
    assert WebPushSender(keys.private_key, "mailto:a@b.example").application_server_key == keys.public_key


def test_authorization_has_rfc8292_claims():
    sender = WebPushSender(VAPID.private_key, "https://oo.example")
    now = time.time()
    header = sender.authorization("https://fcm.googleapis.com:443/fcm/send/abc", now=now)
    assert header.startswith("vapid t=") and header.endswith(f", k={VAPID.public_key}")
    claims, k = verify_vapid(header, audience="https://fcm.googleapis.com:443", now=now)
    assert k == VAPID.public_key
    assert claims["sub"] == "https://oo.example"
    assert now < claims["exp"] <= now + 24 * 3600
    token_header = json.loads(b64d(header.split("t=")[1].split(".")[0]))
    assert token_header["alg"] == "ES256"


def test_authorization_aud_is_endpoint_origin_and_token_is_cached_until_near_expiry():
    sender = WebPushSender(VAPID.private_key, "mailto:ops@oo.example")
    first = sender.authorization(FCM, now=1_000_000)
    claims, _ = verify_vapid(first, audience="https://fcm.googleapis.com", now=1_000_000)
    assert claims["aud"] == "https://fcm.googleapis.com"
    assert sender.authorization(FCM, now=1_000_000 + 3600) == first
    assert sender.authorization(FCM, now=1_000_000 + 12 * 3600) != first


def test_rfc8292_example_token_verifies_against_its_key():
    claims, _ = verify_vapid(
        f"vapid t={RFC8292_TOKEN}, k={RFC8292_KEY}", audience="https://push.example.net", now=1453523768 - 60
    )
    assert claims == {"aud": "https://push.example.net", "exp": 1453523768, "sub": "mailto:push@example.com"}


def test_verify_vapid_refuses_a_tampered_token():
    header = WebPushSender(VAPID.private_key, "mailto:a@b.example").authorization(FCM)
    payload = b64e(
        json.dumps({"aud": "https://fcm.googleapis.com", "exp": 9, "sub": "mailto:x@y.z"}).encode()
    )
    head, _, sig = header.split("t=")[1].split(",")[0].split(".")
    with pytest.raises(PushRejected):
        verify_vapid(f"vapid t={head}.{payload}.{sig}, k={VAPID.public_key}", audience="x", now=0)


def test_sender_refuses_subject_that_is_not_mailto_or_https():
    with pytest.raises(ValueError, match="mailto"):
        WebPushSender(VAPID.private_key, "ops@oo.example")


def _sub_json(endpoint: str = FCM, p256dh: str | None = None, auth: str | None = None) -> dict:
    sub = _browser(endpoint)[0]
    return {"endpoint": endpoint, "keys": {"p256dh": p256dh or sub.p256dh, "auth": auth or sub.auth}}


@pytest.mark.parametrize(
    "endpoint",
    [
        FCM,
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
        "https://wns2-par02p.notify.windows.com/w/?token=BQYAAA",
        "https://web.push.apple.com/QGx",
        "https://api.push.apple.com/3/device/x",
    ],
)
def test_parse_subscription_accepts_known_push_services(endpoint):
    data = _sub_json(endpoint)
    sub = parse_subscription(data)
    assert sub.to_dict() == data


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://fcm.googleapis.com/fcm/send/x",
        "https://fcm.googleapis.com:8443/fcm/send/x",
        "https://evil.example.com/push",
        "https://fcm.googleapis.com.evil.example/x",
        "https://fcm.googleapis.com@evil.example/x",
        "https://notify.windows.com/w",
        "https://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:9/push/x",
        "file:///etc/passwd",
        "",
    ],
)
def test_parse_subscription_refuses_endpoints_off_the_allow_list(endpoint):
    with pytest.raises(InvalidSubscription, match="endpoint"):
        parse_subscription(_sub_json(endpoint))


def test_parse_subscription_allows_an_exact_test_origin_only():
    allowed = ("http://127.0.0.1:8123",)
    assert parse_subscription(_sub_json("http://127.0.0.1:8123/push/a"), allowed_hosts=allowed)
    with pytest.raises(InvalidSubscription):
        parse_subscription(_sub_json("http://127.0.0.1:8124/push/a"), allowed_hosts=allowed)


@pytest.mark.parametrize(
    ("p256dh", "auth", "message"),
    [
        ("BAAA", None, "p256dh"),
        ("B" + "A" * 86, None, "p256dh"),  # 65 bytes but not a point on P-256
        ("not base64!", None, "p256dh"),
        (None, b64e(b"\x00" * 15), "auth"),
        (None, "a+b/", "auth"),
    ],
)
def test_parse_subscription_checks_key_lengths(p256dh, auth, message):
    with pytest.raises(InvalidSubscription, match=message):
        parse_subscription(_sub_json(p256dh=p256dh, auth=auth))


@pytest.mark.parametrize("data", [[], {"endpoint": FCM}, {"endpoint": FCM, "keys": "x"}, {"keys": {}}])
def test_parse_subscription_refuses_malformed_objects(data):
    with pytest.raises(InvalidSubscription):
        parse_subscription(data)


def test_validate_topic_limits_to_32_base64url_chars():
    assert validate_topic("a" * 32) == "a" * 32
    for bad in ("a" * 33, "", "a+b", "tip=1", "a b"):
        with pytest.raises(ValueError):
            validate_topic(bad)


def test_make_topic_is_stable_32_char_base64url():
    topic = make_topic("user-1")
    assert validate_topic(topic) == topic and len(topic) == 32
    assert topic == make_topic("user-1") != make_topic("user-2")
    assert make_topic("user-1", secret=b"k") != topic


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (201, {}, DeliveryResult("delivered", 201)),
        (404, {}, DeliveryResult("gone", 404, reason="nope")),
        (410, {}, DeliveryResult("gone", 410, reason="nope")),
        (413, {}, DeliveryResult("rejected", 413, reason="nope")),
        (400, {}, DeliveryResult("rejected", 400, reason="nope")),
        (429, {"Retry-After": "30"}, DeliveryResult("retry", 429, 30.0, "nope")),
        (500, {}, DeliveryResult("retry", 500, reason="nope")),
        (503, {}, DeliveryResult("retry", 503, reason="nope")),
    ],
)
@pytest.mark.anyio
async def test_send_classifies_push_service_status(status, headers, expected):
    text = "" if status == 201 else "nope"
    sender = _sender(lambda request: httpx.Response(status, headers=headers, text=text))
    assert await _send(sender) == expected


def test_classify_response_reads_http_date_retry_after():
    later = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 120))
    result = classify_response(503, retry_after=later)
    assert result.status == "retry" and 100 < (result.retry_after or 0) <= 121


async def _send(sender: WebPushSender, sub: Subscription | None = None, **kwargs) -> DeliveryResult:
    payload = kwargs.pop("payload", {"title": "t"})
    args = {"topic": make_topic("u"), "ttl": 3600, "urgency": "high"} | kwargs
    return await sender.send(sub or _browser()[0], payload, **args)


@pytest.mark.anyio
async def test_send_posts_encrypted_body_with_rfc8030_headers():
    sub, key, auth = _browser()
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201)

    result = await _sender(handler).send(
        sub, {"title": "Tip", "tag": "t"}, topic="abc", ttl=60, urgency="low"
    )
    assert result.status == "delivered"
    request = seen[0]
    assert str(request.url) == FCM
    assert request.headers["TTL"] == "60" and request.headers["Urgency"] == "low"
    assert request.headers["Topic"] == "abc" and request.headers["Content-Encoding"] == "aes128gcm"
    verify_vapid(request.headers["Authorization"], audience="https://fcm.googleapis.com", now=time.time())
    plain = decrypt_body(request.content, private_key=key, auth=auth)
    assert json.loads(plain) == {"title": "Tip", "tag": "t"}


@pytest.mark.anyio
async def test_send_treats_network_errors_and_redirects_safely():
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    assert (await _send(_sender(fail))).status == "retry"
    redirect = _sender(lambda r: httpx.Response(302, headers={"Location": "http://169.254.169.254/"}))
    assert (await _send(redirect)).status == "rejected"


@pytest.mark.anyio
async def test_send_rejects_without_a_request_when_payload_too_big_or_host_not_allowed():
    calls: list[httpx.Request] = []
    sender = _sender(lambda r: calls.append(r) or httpx.Response(201))
    big = await sender.send(_browser()[0], {"b": "x" * 4000}, topic="t", ttl=1, urgency="normal")
    assert big.status == "rejected" and "3993" in big.reason
    off_list = await _send(sender, _browser("https://evil.example/push")[0])
    assert off_list == DeliveryResult("rejected", reason="endpoint host not allowed")
    assert calls == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("kwargs", "message"), [({"topic": "x" * 33}, "topic"), ({"urgency": "asap"}, "urgency")]
)
async def test_send_refuses_invalid_topic_or_urgency(kwargs, message):
    with pytest.raises(ValueError, match=message):
        await _send(_sender(lambda r: httpx.Response(201)), **kwargs)


@pytest.mark.anyio
async def test_send_never_logs_endpoint_or_keys(caplog):
    sub = _browser()[0]
    caplog.set_level(logging.DEBUG, logger="oo.integrations.webpush")
    sender = _sender(lambda r: httpx.Response(410, text=f"gone: {sub.endpoint}"))
    result = await _send(sender, sub)
    assert sub.fingerprint in caplog.text
    for secret in (sub.endpoint, "abc123", sub.p256dh, sub.auth):
        assert secret not in caplog.text and secret not in result.reason


def test_b64url_decode_is_strict():
    assert push_subscription.b64url_decode(b64e(b"\xff\xfe")) == b"\xff\xfe"
    assert push_subscription.b64url_decode(base64.urlsafe_b64encode(b"\xff\xfe").decode()) == b"\xff\xfe"
    with pytest.raises(ValueError):
        push_subscription.b64url_decode("+/==")


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1%00.push.apple.com/x",  # percent-encoding in the host
        "https://127.0.0.1%2f.push.apple.com/x",
        "https://127.0.0.1 .push.apple.com/x",  # space
        "https://127.0.0.1\\.push.apple.com/x",  # backslash
        "https://evil.example\\@web.push.apple.com/x",
        "https://a\t.push.apple.com/x",  # control characters
        "https://a\x00.push.apple.com/x",
        "https://a..push.apple.com/x",  # empty label
        "https://-a.push.apple.com/x",
        "https://a_b.push.apple.com/x",
        "https://xn--zz.push.apple.com/x",  # an invalid punycode label
    ],
)
def test_host_check_refuses_hosts_that_are_not_clean_names(url):
    assert not push_subscription.host_allowed(url, push_subscription.DEFAULT_ALLOWED_HOSTS)
    with pytest.raises(push_subscription.InvalidSubscription):
        push_subscription.parse_subscription({"endpoint": url, "keys": {"p256dh": "x", "auth": "y"}})


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://WEB.push.APPLE.com/x", True),  # case-folded
        ("https://web.push.apple.com./x", True),  # trailing dot: the same name
        ("https://web\uff0epush\uff0eapple\uff0ecom/x", True),  # full-width dots: IDNA maps them
        ("https://push.apple.com.evil.example/x", False),
        ("https://evilpush.apple.com/x", False),
    ],
)
def test_host_check_compares_the_normalised_name(url, allowed):
    assert push_subscription.host_allowed(url, ["*.push.apple.com"]) is allowed
