"""Push test data shared by the test layers: a subscription as a browser's PushManager makes it."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from oo.integrations.push_subscription import b64url_encode


def browser_subscription(host: str = "https://fcm.googleapis.com") -> dict:
    """A fresh subscription (endpoint, P-256 public key, auth secret) on a push service's host."""
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return {
        "endpoint": f"{host}/fcm/send/{b64url_encode(os.urandom(16))}",
        "keys": {"p256dh": b64url_encode(point), "auth": b64url_encode(os.urandom(16))},
    }
