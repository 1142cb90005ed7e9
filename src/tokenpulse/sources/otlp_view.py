"""Wire-compatible views of the OTLP export requests, for reading protobuf bodies fast.

In the OTLP protos an `attributes` field is `repeated KeyValue`, and a KeyValue — `{string key = 1;
AnyValue value = 2;}` — is on the wire exactly a map entry. These views are the official message
descriptors (from opentelemetry-proto) with every such field declared `map<string, bytes>` instead:
protobuf builds each record's attributes in C, one call per record, where reading them one KeyValue
at a time costs a Python object per key and per value. The values stay the AnyValue's serialized
bytes; `any_value` reads a string directly and anything else with the real `AnyValue` message.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterator, Mapping
from typing import Any

from ..errors import InvalidEvent

_PREFIX = "tokenpulse.view."
_KEY_VALUE = ".opentelemetry.proto.common.v1.KeyValue"
SIGNALS = {"logs": "opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest",
           "metrics": "opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest",
           "traces": "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest"}


@functools.cache
def request_type(signal: str) -> Any:
    """The view message class of a signal's export request."""
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(_pool().FindMessageTypeByName(_PREFIX + SIGNALS[signal]))


@functools.cache
def _pool() -> Any:
    from google.protobuf import descriptor_pb2, descriptor_pool
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()

    def add(file: Any) -> None:
        if file.name in added:
            return
        for dependency in file.dependencies:
            add(dependency)
        proto = descriptor_pb2.FileDescriptorProto()
        file.CopyToProto(proto)
        proto.name = "tokenpulse/view/" + proto.name
        proto.package = _PREFIX + proto.package
        proto.dependency[:] = ["tokenpulse/view/" + name for name in proto.dependency]
        del proto.service[:]
        proto.ClearField("options")
        for message in proto.message_type:
            _as_maps(message, f".{proto.package}.{message.name}")
        pool.Add(proto)
        added.add(file.name)

    for module in (logs_service_pb2, metrics_service_pb2, trace_service_pb2):
        add(module.DESCRIPTOR)
    return pool


def _as_maps(message: Any, full_name: str) -> None:
    """Point the message's fields at the view types, and make its `repeated KeyValue attributes` a map (a
    key-value list inside a value stays a list: its order is part of it)."""
    from google.protobuf import descriptor_pb2

    field_type = descriptor_pb2.FieldDescriptorProto
    for nested in list(message.nested_type):
        _as_maps(nested, f"{full_name}.{nested.name}")
    for field in message.field:
        if field.name == "attributes" and field.type_name == _KEY_VALUE and field.label == field_type.LABEL_REPEATED:
            entry = message.nested_type.add(name="".join(p.title() for p in field.name.split("_")) + "Entry")
            entry.options.map_entry = True
            entry.field.add(name="key", number=1, type=field_type.TYPE_STRING, label=field_type.LABEL_OPTIONAL,
                            json_name="key")
            entry.field.add(name="value", number=2, type=field_type.TYPE_BYTES, label=field_type.LABEL_OPTIONAL,
                            json_name="value")
            field.type_name = f"{full_name}.{entry.name}"
        elif field.type_name.startswith(".opentelemetry."):
            field.type_name = "." + _PREFIX + field.type_name[1:]


def any_value(raw: bytes) -> Any:
    """An AnyValue's serialized bytes as a Python value (strings, numbers, bools; bytes as hex; lists, dicts)."""
    # Most values are one field: a short string (tag 0x0a, a one-byte length, UTF-8), an integer (tag 0x18,
    # a varint) or a double (tag 0x21, eight bytes). Those are read here; anything else by protobuf itself.
    size = len(raw)
    if size >= 2:
        tag = raw[0]
        if tag == 0x0A and raw[1] < 0x80 and size == raw[1] + 2:
            try:
                return raw[2:].decode()
            except UnicodeDecodeError as exc:
                raise InvalidEvent(f"a string value is not valid UTF-8 (byte {exc.start - 2})") from None
        if tag == 0x18 and raw[-1] < 0x80:
            number = 0
            for shift, byte in enumerate(raw[1:]):
                number |= (byte & 0x7F) << (7 * shift)
                if byte < 0x80:
                    return number - (1 << 64) if number >= 1 << 63 else number
        if tag == 0x21 and size == 9:
            return _DOUBLE.unpack_from(raw, 1)[0]
    elif not raw:
        return None
    return _message_value(raw)


_DOUBLE = struct.Struct("<d")


def _message_value(raw: bytes) -> Any:
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue

    from .otlp import _pb_value

    try:
        return _pb_value(AnyValue.FromString(raw))
    except (DecodeError, ValueError) as exc:
        raise InvalidEvent(f"an attribute value is not a valid AnyValue: {exc}") from None


def attributes(values: Any) -> dict[str, Any]:
    """A view's attribute map as a dict of Python values."""
    return {key: any_value(raw) for key, raw in values.items()}


_MISSING = object()


class Attributes(Mapping[str, Any]):
    """A record's attributes as protobuf sent them: each value is decoded when it is read, once per request
    (`memo`: records of one request repeat most values — the session, the person, the model). `over` puts
    the resource's attributes underneath, without copying either."""

    __slots__ = ("_raw", "_memo", "_under")

    def __init__(self, raw: Mapping[str, bytes], memo: dict[bytes, Any], under: Mapping[str, Any] | None = None):
        # `raw` is the view message's map itself: its `get` is a C lookup, and nothing is copied.
        self._raw = raw
        self._memo = memo
        self._under = under

    def over(self, under: Mapping[str, Any]) -> Attributes:
        return Attributes(self._raw, self._memo, under)

    def get(self, key: str, default: Any = None) -> Any:
        raw = self._raw.get(key)
        if raw is None:
            return default if self._under is None else self._under.get(key, default)
        value = self._memo.get(raw, _MISSING)
        if value is _MISSING:
            value = self._memo[raw] = any_value(raw)
        return value

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return key in self._raw or (self._under is not None and key in self._under)

    def __iter__(self) -> Iterator[str]:
        yield from self._raw
        if self._under is not None:
            yield from (key for key in self._under if key not in self._raw)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"Attributes({dict(self.items())!r})"
