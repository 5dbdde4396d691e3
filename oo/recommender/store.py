"""Policies to bytes and back: versioned JSON, never pickle.

Loading a model must not be able to run code, so the format is plain data: a format tag and
version, the policy's `name`, `version` and constructor `params`, and its learned `state`
(numpy arrays as nested lists; Python's float repr round-trips exactly, so a loaded policy
scores bit-for-bit like the original). Persisting the bytes is a service's job.

    {"format": "oo.recommender.policy", "format_version": 1,
     "policy": {"name": "linucb", "version": 3, "params": {...}},
     "state": {"rng": {...}, "n_updates": 12, "precision": [[...]], ...}}

Anything else (unknown format version, bad JSON, NaN, wrong shapes, unknown policy) raises
`StoreError`, a `ValueError`, with a message that says what is wrong.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from oo.recommender.base import Policy
from oo.recommender.registry import make_policy

__all__ = ["FORMAT", "FORMAT_VERSION", "MAX_BYTES", "StoreError", "dumps", "loads"]

FORMAT = "oo.recommender.policy"
FORMAT_VERSION = 1
#: A LinUCB model on ~25 features is ~30 kB; refuse anything absurdly larger before parsing.
MAX_BYTES = 4_000_000


class StoreError(ValueError):
    """Stored policy bytes are malformed or in an unsupported format."""


def dumps(policy: Policy) -> bytes:
    """Serialize a policy (params and learned state) to JSON bytes.

    Examples:
        >>> from oo.recommender.registry import build_policy
        >>> policy = build_policy("linucb", 1, seed=0)
        >>> policy.learn({"priority": 4.0, "is_overdue": 1.0}, reward=1.0)
        >>> clone = loads(dumps(policy))
        >>> clone.key, clone.score([{"priority": 4.0}]) == policy.score([{"priority": 4.0}])
        ('linucb@1', True)
        >>> loads(b'{"format": "oo.recommender.policy", "format_version": 99}')
        Traceback (most recent call last):
        ...
        oo.recommender.store.StoreError: unsupported format_version 99 (this build reads 1)
    """
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "policy": {"name": policy.name, "version": policy.version, "params": policy.params},
        "state": policy.get_state(),
    }
    return json.dumps(doc, allow_nan=False, separators=(",", ":"), sort_keys=True).encode()


def _reject_constant(name: str) -> NoReturn:
    raise StoreError(f"non-finite number {name} in stored policy")


def _field(doc: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = doc.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise StoreError(f"stored policy: {key!r} is missing or has the wrong type")
    return value


def loads(data: bytes) -> Policy:
    """Rebuild a policy from `dumps` output.

    Raises:
        StoreError: If the data is not a supported, well-formed stored policy.
    """
    if len(data) > MAX_BYTES:
        raise StoreError(f"stored policy is {len(data)} bytes, more than {MAX_BYTES}")
    try:
        doc = json.loads(data, parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreError(f"stored policy is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise StoreError(f"not a stored policy: expected format {FORMAT!r}")
    version = doc.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise StoreError(f"unsupported format_version {version!r} (this build reads {FORMAT_VERSION})")
    meta = _field(doc, "policy", dict)
    state = _field(doc, "state", dict)
    name, policy_version = _field(meta, "name", str), _field(meta, "version", int)
    try:
        policy = make_policy(name, policy_version, _field(meta, "params", dict))
        policy.set_state(state)
    except (KeyError, ValueError) as exc:
        raise StoreError(f"cannot restore {name}@{policy_version}: {exc}") from exc
    return policy
