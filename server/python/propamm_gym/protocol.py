"""Wire format of the prop-amm gym protocol (docs/protocol.md, version 1).

Every message is one msgpack map. Arrays travel as ``{dtype, shape, data}`` maps whose ``data``
is a msgpack bin holding the elements in C order, little-endian; they decode with
``np.frombuffer`` (no per-element work).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgpack
import numpy as np

PROTOCOL_VERSION = 1

#: Wire dtype name -> little-endian numpy dtype.
DTYPES: dict[str, np.dtype] = {
    "float32": np.dtype("<f4"),
    "float64": np.dtype("<f8"),
    "uint8": np.dtype("u1"),
}

#: Error codes a server may answer with (docs/protocol.md, "Error codes").
ERROR_CODES = frozenset(
    {
        "BAD_MESSAGE",
        "TOO_LARGE",
        "VERSION",
        "BAD_REQUEST",
        "UNKNOWN_COMMAND",
        "UNKNOWN_ENV",
        "BAD_ACTION",
        "CONFIG",
        "ENV",
        "TOO_MANY_SESSIONS",
        "INTERNAL",
    }
)


class PropAmmError(Exception):
    """Base class of the client's errors."""


class ServerError(PropAmmError):
    """The server answered ``ok: false``: ``code`` is one of :data:`ERROR_CODES`."""

    def __init__(self, code: str, message: str, cmd: str | None = None) -> None:
        self.code = code
        self.message = message
        self.cmd = cmd
        where = f" (in '{cmd}')" if cmd else ""
        super().__init__(f"{code}: {message}{where}")


class ProtocolError(PropAmmError):
    """The server's reply does not follow the protocol (not a map, wrong id, bad array...)."""


class ServerUnavailableError(PropAmmError, ConnectionError):
    """No reply within ``timeout_s`` on any of ``attempts`` tries: the server is down or stuck."""

    def __init__(self, address: str, cmd: str, request_id: int, timeout_s: float, attempts: int) -> None:
        self.address = address
        self.cmd = cmd
        self.request_id = request_id
        self.timeout_s = timeout_s
        self.attempts = attempts
        super().__init__(
            f"no reply from the prop-amm gym server at {address} to '{cmd}' (request id {request_id}) "
            f"after {attempts} attempt(s) of {timeout_s:g} s each ({timeout_s * attempts:g} s in all); "
            f"is `propamm serve --bind {address}` running?"
        )


def encode_array(a: Any, dtype: str | None = None) -> dict[str, Any]:
    """numpy array (or array-like) -> protocol array map. ``dtype`` defaults to the array's own."""
    arr = np.asarray(a)
    name = dtype if dtype is not None else arr.dtype.name
    if name not in DTYPES:
        raise TypeError(f"arrays travel as float32, float64 or uint8, not {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=DTYPES[name])
    return {"dtype": name, "shape": list(arr.shape), "data": arr.tobytes()}


def decode_array(obj: Any, *, writable: bool = False) -> np.ndarray:
    """Protocol array map -> numpy array.

    Without ``writable`` the result is a read-only view of the reply's bytes (zero copy); with
    it, one block copy makes it writable.
    """
    if not isinstance(obj, Mapping):
        raise ProtocolError(f"expected an array map {{dtype, shape, data}}, got {type(obj).__name__}")
    try:
        dtype = DTYPES[obj["dtype"]]
        shape = tuple(int(s) for s in obj["shape"])
        data = obj["data"]
    except (KeyError, TypeError, ValueError) as e:
        raise ProtocolError(f"malformed array map: {e!r}") from None
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ProtocolError(f"array data must be bin, got {type(data).__name__}")
    count = 1
    for s in shape:
        count *= s
    if len(data) != count * dtype.itemsize:
        raise ProtocolError(
            f"array data holds {len(data)} bytes; shape {list(shape)} of {dtype.name} needs {count * dtype.itemsize}"
        )
    arr = np.frombuffer(data, dtype=dtype).reshape(shape)
    if not dtype.isnative:
        arr = arr.astype(dtype.newbyteorder("="))  # big-endian host: one converting copy
    elif writable:
        arr = arr.copy()
    return arr


def pack(msg: Mapping[str, Any]) -> bytes:
    out: bytes = msgpack.packb(msg, use_bin_type=True)
    return out


def unpack(raw: Any) -> Any:
    """Decodes one reply (bytes or any buffer)."""
    return msgpack.unpackb(raw, raw=False, strict_map_key=False)
