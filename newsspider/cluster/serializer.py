"""The scrapy-redis scheduler's serializer (``SCHEDULER_SERIALIZER =
"newsspider.cluster.serializer"``): a request dict as JSON, bytes as base64, so that nothing a
worker reads from Redis is ever unpickled."""

from __future__ import annotations

import base64
import json
from typing import Any


def _pack(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"__b": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and not {"__b", "__d"} & value.keys():
            return {k: _pack(v) for k, v in value.items()}
        return {"__d": [[_pack(k), _pack(v)] for k, v in value.items()]}
    if isinstance(value, list | tuple):
        return [_pack(v) for v in value]
    return value


def _unpack(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__b"}:
            return base64.b64decode(value["__b"])
        if set(value) == {"__d"}:
            return {_unpack(k): _unpack(v) for k, v in value["__d"]}
        return {k: _unpack(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unpack(v) for v in value]
    return value


def dumps(obj: Any) -> str:
    """A request dict as JSON (bytes as base64): nothing in Redis is ever unpickled."""
    return json.dumps(_pack(obj), ensure_ascii=False, sort_keys=True)


def loads(data: str | bytes) -> Any:
    return _unpack(json.loads(data))
