"""The group: NIST P-256 through OpenSSL (petlib), as ``Scalar`` and ``Point`` value types.

This is the only module that imports petlib. It closes petlib's traps:

1. the curve is named once, here (``_NID_P256``), never petlib's P-224 default;
2. every check is an explicit ``if ...: raise`` (petlib's own checks vanish under ``python -O``);
3. every OpenSSL failure becomes one of our exceptions, never a bare ``Exception``;
4. the one-byte encoding of the point at infinity is refused wherever a real point is required;
5. scalars are always encoded at a fixed 32 bytes.

Wire encodings (see docs/protocol.md §2): a point is SEC1 *uncompressed* (``04 || X || Y``,
65 bytes, 130 lowercase hex digits); the identity, only where a field explicitly allows it, is the
single byte ``00``; a scalar is 32 bytes big-endian (64 lowercase hex digits) and must be ``< q``.

Speed: ``Point.__mul__`` is a variable-base multiplication (the yardstick). ``base_mul`` uses
OpenSSL's precomputed table for the generator, and :class:`FixedBase` builds such a table for any
other point (the election key) on a copy of the group that has that point as its generator.
:func:`multi_mul` is OpenSSL's multi-scalar multiplication (``EC_POINTs_mul``), used by batch
verification.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Sequence

import cffi
import petlib._petlib as _petlib_module
from petlib.bindings import _C, _FFI
from petlib.bn import Bn, get_ctx
from petlib.ec import EcGroup

from crypto.errors import CryptoError, InvalidPoint, InvalidScalar

__all__ = [
    "CURVE_NAME",
    "P",
    "Q",
    "A",
    "B",
    "Scalar",
    "Point",
    "FixedBase",
    "base_mul",
    "multi_mul",
    "multi_mul_raw",
    "PointArena",
    "PointSum",
    "G",
    "fp_pow",
    "fp_inv",
    "fp_batch_inv",
    "fp_sqrt",
    "curve_rhs",
]

CURVE_NAME = "P-256"
_NID_P256 = 415  # OpenSSL's NID for prime256v1 / secp256r1 / NIST P-256

_GROUP = EcGroup(_NID_P256)
if int(_C.EC_GROUP_get_curve_name(_GROUP.ecg)) != _NID_P256:  # pragma: no cover - OpenSSL broken
    raise CryptoError("OpenSSL did not give NIST P-256")

#: Order of the group (of the generator G); P-256 has cofactor 1.
Q = int(_GROUP.order())
#: The field prime.
P = int(_GROUP.parameters()["p"])
#: The curve equation is ``y² = x³ + A·x + B (mod P)``.
A = P - 3
B = int(_GROUP.parameters()["b"])
if int(_GROUP.parameters()["a"]) % P != A:  # pragma: no cover - OpenSSL broken
    raise CryptoError("OpenSSL gave a curve with a ≠ −3")

_POINT_BYTES = 65
_SCALAR_BYTES = 32
_HEX_SCALAR = re.compile(r"[0-9a-f]{64}\Z")
_IDENTITY_HEX = "00"
_UNCOMPRESSED = _C.POINT_CONVERSION_UNCOMPRESSED
_ECG = _GROUP.ecg
_NULL = _FFI.NULL
_gc = _FFI.gc
_point_new, _point_free = _C.EC_POINT_new, _C.EC_POINT_free


def _new_pt():
    """A fresh EC_POINT owned by Python: freed by cffi (in C) when the last reference goes."""
    pt = _point_new(_ECG)
    if pt == _NULL:
        raise CryptoError("OpenSSL could not allocate a point")
    return _gc(pt, _point_free)


def _ctx():
    # petlib keeps one BN_CTX per thread; OpenSSL's BN_CTX is not thread-safe.
    return get_ctx().bnctx


_tls = threading.local()


def _scratch():
    """Per-thread (BN_CTX, scratch BIGNUM, encode buffer): allocated once, reused by every op."""
    try:
        return _tls.scratch
    except AttributeError:
        bn = Bn()
        _tls.scratch = scratch = (
            get_ctx().bnctx,
            bn.bn,
            _FFI.new("unsigned char[]", _POINT_BYTES),
            bn,
        )
        return scratch


def _load(k, bn) -> None:
    value = k._v if type(k) is Scalar else _as_int(k)
    if _C.BN_bin2bn(value.to_bytes(_SCALAR_BYTES, "big"), _SCALAR_BYTES, bn) == _FFI.NULL:
        raise CryptoError("OpenSSL failed to load a scalar")


def _check(rc: int, what: str) -> None:
    if rc != 1:
        raise CryptoError(f"OpenSSL failed in {what}")


# --- Scalars -----------------------------------------------------------------------------------


class Scalar:
    """An integer modulo the group order ``q``. Immutable."""

    __slots__ = ("_v",)

    def __init__(self, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidScalar(f"a scalar is built from an int, not {type(value).__name__}")
        if not 0 <= value < Q:
            raise InvalidScalar("scalar out of range [0, q)")
        self._v = value

    # construction
    @classmethod
    def _trusted(cls, value: int) -> Scalar:
        """Internal: wrap a value already known to be in ``[0, q)`` without re-checking it."""
        s = object.__new__(cls)
        s._v = value
        return s

    @classmethod
    def reduce(cls, value: int) -> Scalar:
        """``value mod q`` (for values computed internally, e.g. hash outputs or negatives)."""
        return cls(value % Q)

    @classmethod
    def random(cls) -> Scalar:
        """A uniformly random non-zero scalar from the OS CSPRNG (``secrets``)."""
        return cls._trusted(_randbelow(Q - 1) + 1)

    @classmethod
    def from_bytes(cls, data: bytes, *, nonzero: bool = False) -> Scalar:
        if not isinstance(data, (bytes, bytearray)) or len(data) != _SCALAR_BYTES:
            raise InvalidScalar("a scalar is exactly 32 bytes")
        value = int.from_bytes(data, "big")
        if value >= Q:
            raise InvalidScalar("scalar is not reduced modulo q")
        if nonzero and value == 0:
            raise InvalidScalar("scalar must not be zero")
        return cls(value)

    @classmethod
    def from_hex(cls, text: str, *, nonzero: bool = False) -> Scalar:
        if not isinstance(text, str) or not _HEX_SCALAR.match(text):
            raise InvalidScalar("a scalar is exactly 64 lowercase hex digits")
        value = int(text, 16)
        if value >= Q:
            raise InvalidScalar("scalar is not reduced modulo q")
        if nonzero and value == 0:
            raise InvalidScalar("scalar must not be zero")
        return cls._trusted(value)

    @staticmethod
    def value_from_hex(text: str) -> int:
        """The value of :meth:`from_hex` as a plain int, without building the object (hot loops
        that only feed the value into arithmetic, e.g. the verifier's batch equations)."""
        if type(text) is not str or not _HEX_SCALAR.match(text):
            raise InvalidScalar("a scalar is exactly 64 lowercase hex digits")
        value = int(text, 16)
        if value >= Q:
            raise InvalidScalar("scalar is not reduced modulo q")
        return value

    # encoding
    def to_bytes(self) -> bytes:
        return self._v.to_bytes(_SCALAR_BYTES, "big")

    def to_hex(self) -> str:
        return self.to_bytes().hex()

    def __int__(self) -> int:
        return self._v

    def __index__(self) -> int:
        return self._v

    def is_zero(self) -> bool:
        return self._v == 0

    # arithmetic mod q (ints are accepted and reduced)
    def __add__(self, other: Scalar | int) -> Scalar:
        return Scalar._trusted((self._v + _int(other)) % Q)

    __radd__ = __add__

    def __sub__(self, other: Scalar | int) -> Scalar:
        return Scalar._trusted((self._v - _int(other)) % Q)

    def __rsub__(self, other: Scalar | int) -> Scalar:
        return Scalar._trusted((_int(other) - self._v) % Q)

    def __mul__(self, other):
        if isinstance(other, Point):
            return other * self
        return Scalar._trusted((self._v * _int(other)) % Q)

    __rmul__ = __mul__

    def __neg__(self) -> Scalar:
        return Scalar._trusted((-self._v) % Q)

    def inverse(self) -> Scalar:
        if self._v == 0:
            raise InvalidScalar("zero has no inverse")
        return Scalar(pow(self._v, -1, Q))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Scalar):
            return self._v == other._v
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("Scalar", self._v))

    def __repr__(self) -> str:
        return f"Scalar({self.to_hex()})"


def _int(value: Scalar | int) -> int:
    if type(value) is Scalar:
        return value._v
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InvalidScalar(f"cannot combine a scalar with {type(value).__name__}")


_randbelow = secrets.randbelow


def _bn(value: int) -> Bn:
    return Bn.from_binary((value % Q).to_bytes(_SCALAR_BYTES, "big"))


def _as_int(k: Scalar | int) -> int:
    if isinstance(k, Scalar):
        return k._v
    if isinstance(k, int) and not isinstance(k, bool):
        return k % Q
    raise InvalidScalar(f"cannot multiply a point by {type(k).__name__}")


# --- Points ------------------------------------------------------------------------------------


class Point:
    """A point of P-256 (possibly the identity, which never has a wire encoding by default).

    Immutable: every operation returns a new point. Equality compares the group elements.
    """

    __slots__ = ("_pt", "_enc", "_hex")

    def __init__(self, _pt, _enc: bytes | None = None, _hex: str | None = None) -> None:
        # Internal constructor: use the class methods or the arithmetic.
        self._pt = _pt
        self._enc = _enc
        self._hex = _hex

    @property
    def raw(self):
        """The OpenSSL point, for :func:`multi_mul_raw`."""
        return self._pt

    # construction
    @classmethod
    def generator(cls) -> Point:
        return G

    @classmethod
    def identity(cls) -> Point:
        pt = _new_pt()
        _check(_C.EC_POINT_set_to_infinity(_GROUP.ecg, pt), "set_to_infinity")
        return cls(pt, b"\x00")

    @classmethod
    def from_bytes(cls, data: bytes, *, allow_identity: bool = False) -> Point:
        """Strict wire decoding: 65-byte uncompressed SEC1 (or ``00`` if the identity is allowed)."""
        if not isinstance(data, (bytes, bytearray)):
            raise InvalidPoint("a point is encoded as bytes")
        data = bytes(data)
        if data == b"\x00":
            if allow_identity:
                return cls.identity()
            raise InvalidPoint("the point at infinity is not allowed here")
        if len(data) != _POINT_BYTES or data[0] != 0x04:
            raise InvalidPoint("a point is 65 bytes of uncompressed SEC1 (04 || X || Y)")
        return cls(_decode(data), data)

    @classmethod
    def from_hex(cls, text: str, *, allow_identity: bool = False) -> Point:
        if not isinstance(text, str):
            raise InvalidPoint("a point is encoded as a hex string")
        if text == _IDENTITY_HEX:
            return cls.from_bytes(b"\x00", allow_identity=allow_identity)
        # same as matching 04[0-9a-f]{128}, about twice as fast as the regular expression
        if len(text) != 130 or text[:2] != "04" or text != text.lower():
            raise InvalidPoint("a point is 130 lowercase hex digits starting with 04")
        try:
            data = bytes.fromhex(text)
        except ValueError:
            data = b""
        if len(data) != _POINT_BYTES:  # not hex, or spaces that fromhex would have skipped
            raise InvalidPoint("a point is 130 lowercase hex digits starting with 04")
        return cls(_decode(data), data, text)

    @classmethod
    def from_sec1(cls, data: bytes) -> Point:
        """Decode any canonical SEC1 form of a real point: uncompressed or compressed.

        Used only at interoperability boundaries (test vectors, foreign keys); the wire format of
        this protocol is :meth:`from_bytes`. Hybrid forms (``06``/``07``) and the identity are refused.
        """
        if not isinstance(data, (bytes, bytearray)):
            raise InvalidPoint("a point is encoded as bytes")
        data = bytes(data)
        if len(data) == 33 and data[0] in (0x02, 0x03):
            x = int.from_bytes(data[1:], "big")
            if x >= P:
                raise InvalidPoint("x coordinate not reduced modulo p")
            return cls(_decode(data))
        if len(data) == _POINT_BYTES and data[0] == 0x04:
            return cls(_decode(data), data)
        raise InvalidPoint("not a SEC1 compressed (33 bytes) or uncompressed (65 bytes) point")

    @classmethod
    def from_affine(cls, x: int, y: int) -> Point:
        """The point ``(x, y)``; raises :class:`InvalidPoint` unless both are in ``[0, p)`` and
        satisfy the curve equation."""
        if not (type(x) is int and type(y) is int and 0 <= x < P and 0 <= y < P):
            raise InvalidPoint("affine coordinates are integers in [0, p)")
        data = b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")
        return cls(_decode(data), data)

    def coordinates(self) -> tuple[int, int]:
        """The affine ``(x, y)`` of a real point; raises :class:`InvalidPoint` for the identity."""
        data = self.to_bytes()
        if len(data) != _POINT_BYTES:
            raise InvalidPoint("the point at infinity has no affine coordinates")
        return int.from_bytes(data[1:33], "big"), int.from_bytes(data[33:], "big")

    # encoding
    def to_bytes(self) -> bytes:
        enc = self._enc
        if enc is None:
            ctx, _, buf, _ = _scratch()
            n = _C.EC_POINT_point2oct(_ECG, self._pt, _UNCOMPRESSED, buf, _POINT_BYTES, ctx)
            if n == _POINT_BYTES:
                enc = _FFI.buffer(buf, _POINT_BYTES)[:]
            elif self.is_identity():
                enc = b"\x00"
            else:
                raise CryptoError("OpenSSL failed to encode a point")
            self._enc = enc
        return enc

    def to_hex(self) -> str:
        """Wire form (130 hex digits). Raises :class:`InvalidPoint` for the identity."""
        text = self._hex
        if text is None:
            text = self._hex = self.to_bytes().hex()
        if text == _IDENTITY_HEX:
            raise InvalidPoint("the point at infinity has no encoding here")
        return text

    def to_hex_allow_identity(self) -> str:
        """Wire form where the identity is allowed (encoded ``"00"``)."""
        text = self._hex
        if text is None:
            text = self._hex = self.to_bytes().hex()
        return text

    def is_identity(self) -> bool:
        return _C.EC_POINT_is_at_infinity(_ECG, self._pt) == 1

    # arithmetic
    def __add__(self, other: Point) -> Point:
        if type(other) is not Point:
            return NotImplemented
        r = _new_pt()
        if _C.EC_POINT_add(_ECG, r, self._pt, other._pt, _scratch()[0]) != 1:
            raise CryptoError("OpenSSL failed in point add")
        return Point(r)

    def __neg__(self) -> Point:
        r = _new_pt()
        _check(_C.EC_POINT_copy(r, self._pt), "point copy")
        _check(_C.EC_POINT_invert(_GROUP.ecg, r, _ctx()), "point invert")
        return Point(r)

    def __sub__(self, other: Point) -> Point:
        if not isinstance(other, Point):
            return NotImplemented
        return self + (-other)

    def __mul__(self, k: Scalar | int) -> Point:
        """Variable-base multiplication ``k·self``."""
        if isinstance(k, Point):
            return NotImplemented
        ctx, bn, _, _ = _scratch()
        _load(k, bn)
        r = _new_pt()
        if _C.EC_POINT_mul(_ECG, r, _NULL, self._pt, bn, ctx) != 1:
            raise CryptoError("OpenSSL failed in point mul")
        return Point(r)

    __rmul__ = __mul__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Point):
            return NotImplemented
        rc = _C.EC_POINT_cmp(_GROUP.ecg, self._pt, other._pt, _ctx())
        if rc < 0:
            raise CryptoError("OpenSSL failed to compare points")
        return rc == 0

    def __hash__(self) -> int:
        return hash(self.to_bytes())

    def __repr__(self) -> str:
        return "Point(identity)" if self.is_identity() else f"Point({self.to_hex()[:18]}…)"


_oct2point = _C.EC_POINT_oct2point


def _decode(data: bytes):
    """An EC_POINT from a SEC1 encoding that its caller has checked to be of the form
    ``04 ‖ X ‖ Y`` (65 bytes) or ``02/03 ‖ X`` (33 bytes): validated by OpenSSL exactly once.

    ``EC_POINT_oct2point`` sets the point through ``EC_POINT_set_affine_coordinates``, which since
    OpenSSL 1.1.1 refuses coordinates ≥ p and points off the curve (and a compressed ``X`` without
    a square root); these two forms never encode the point at infinity. So no second on-curve or
    infinity check is made here — :func:`_check_openssl_validates` proves at import time that the
    linked OpenSSL does refuse such points, and the module does not load otherwise."""
    pt = _gc(_point_new(_ECG), _point_free)
    if pt == _NULL:
        raise CryptoError("OpenSSL could not allocate a point")
    if _oct2point(_ECG, pt, data, len(data), _scratch()[0]) != 1:
        raise InvalidPoint("not a point of P-256 (off the curve or coordinates out of range)")
    return pt


#: The standard generator of P-256.
G = Point(_new_pt())
_check(_C.EC_POINT_copy(G._pt, _C.EC_GROUP_get0_generator(_ECG)), "copy the generator")
G.to_bytes()


def base_mul(k: Scalar | int) -> Point:
    """``k·G`` through OpenSSL's precomputed generator table (≈ 5× faster than ``k * G``)."""
    ctx, bn, _, _ = _scratch()
    _load(k, bn)
    r = _new_pt()
    if _C.EC_POINT_mul(_ECG, r, bn, _NULL, _NULL, ctx) != 1:
        raise CryptoError("OpenSSL failed in base mul")
    return Point(r)


# --- Fixed-base tables for points other than G -------------------------------------------------
# petlib's bindings lack EC_GROUP_dup and EC_GROUP_set_generator. We declare just these from the
# libcrypto that petlib's own extension is linked against (dlsym on the extension's handle searches
# its dependencies), so the EC_GROUP and EC_POINT pointers are shared with petlib.
_ffi = cffi.FFI()
_ffi.cdef(
    """
    typedef struct ec_group_st EC_GROUP;
    typedef struct ec_point_st EC_POINT;
    typedef struct bignum_st BIGNUM;
    EC_GROUP *EC_GROUP_dup(const EC_GROUP *src);
    void EC_GROUP_free(EC_GROUP *group);
    int EC_GROUP_set_generator(EC_GROUP *group, const EC_POINT *generator,
                               const BIGNUM *order, const BIGNUM *cofactor);
    typedef struct bignum_ctx BN_CTX;
    typedef struct bn_mont_ctx_st BN_MONT_CTX;
    BN_MONT_CTX *BN_MONT_CTX_new(void);
    int BN_MONT_CTX_set(BN_MONT_CTX *mont, const BIGNUM *mod, BN_CTX *ctx);
    int BN_mod_exp_mont(BIGNUM *r, const BIGNUM *a, const BIGNUM *p, const BIGNUM *m,
                        BN_CTX *ctx, BN_MONT_CTX *m_ctx);
    int BN_bn2binpad(const BIGNUM *a, unsigned char *to, int tolen);
    BIGNUM *BN_bin2bn(const unsigned char *s, int len, BIGNUM *ret);
    """
)
_lib = _ffi.dlopen(_petlib_module.__file__)
_lib_bin2bn = _lib.BN_bin2bn
_ORDER_BN = Bn.from_binary(Q.to_bytes(32, "big"))
_ONE_BN = Bn(1)


def _addr(ptr) -> int:
    return int(_FFI.cast("uintptr_t", ptr))


class FixedBase:
    """A precomputed multiplication table for one point (e.g. the election public key).

    Building the table costs ≈ 20 ms; afterwards ``mul`` costs about as much as ``base_mul``.
    """

    __slots__ = ("point", "_own", "_ecg")

    def __init__(self, point: Point) -> None:
        if not isinstance(point, Point) or point.is_identity():
            raise InvalidPoint("a fixed base must be a real point")
        self.point = point
        own = _lib.EC_GROUP_dup(_ffi.cast("EC_GROUP *", _addr(_GROUP.ecg)))
        if own == _ffi.NULL:
            raise CryptoError("OpenSSL failed to copy the group")
        self._own = own
        self._ecg = _FFI.cast("EC_GROUP *", int(_ffi.cast("uintptr_t", own)))
        rc = _lib.EC_GROUP_set_generator(
            own,
            _ffi.cast("EC_POINT *", _addr(point._pt)),
            _ffi.cast("BIGNUM *", _addr(_ORDER_BN.bn)),
            _ffi.cast("BIGNUM *", _addr(_ONE_BN.bn)),
        )
        _check(rc, "EC_GROUP_set_generator")
        _check(_C.EC_GROUP_precompute_mult(self._ecg, _ctx()), "EC_GROUP_precompute_mult")

    def mul(self, k: Scalar | int) -> Point:
        ctx, bn, _, _ = _scratch()
        _load(k, bn)
        r = _new_pt()
        if _C.EC_POINT_mul(self._ecg, r, bn, _NULL, _NULL, ctx) != 1:
            raise CryptoError("OpenSSL failed in fixed-base mul")
        return Point(r)

    def __del__(self) -> None:
        own = getattr(self, "_own", None)
        if own is not None and _lib is not None:
            _lib.EC_GROUP_free(own)
            self._own = None


#: Points per OpenSSL call in :func:`multi_mul`: OpenSSL allocates a 16-point table per point
#: (≈ 1.5 KB), so longer sums are cut into pieces of this size (same speed, bounded memory).
_MSM_PIECE = 4096


def multi_mul(g_scalar: int, scalars: Sequence[int], points: Sequence[Point]) -> Point:
    """``g_scalar·G + Σ scalars[i]·points[i]`` by OpenSSL multi-scalar multiplication.

    Scalars are plain ints (reduced mod q here); the generator's term uses the precomputed table.
    """
    if len(scalars) != len(points):
        raise CryptoError("multi_mul needs as many scalars as points")
    return _multi_mul_pieces(g_scalar, scalars, [p._pt for p in points])


def multi_mul_raw(g_scalar: int, scalars: Sequence[int], raw_points: Sequence) -> Point:
    """:func:`multi_mul` over OpenSSL points as :attr:`Point.raw` or :meth:`PointArena.decode_hex`
    give them (the verifier's hot path: no Python object per point)."""
    if len(scalars) != len(raw_points):
        raise CryptoError("multi_mul needs as many scalars as points")
    return _multi_mul_pieces(g_scalar, scalars, raw_points)


def _multi_mul_pieces(g_scalar: int, scalars: Sequence[int], raw: Sequence) -> Point:
    n = len(raw)
    if n <= _MSM_PIECE:
        return _multi_mul(g_scalar, scalars, raw)
    total = _multi_mul(g_scalar, scalars[:_MSM_PIECE], raw[:_MSM_PIECE])
    for start in range(_MSM_PIECE, n, _MSM_PIECE):
        stop = start + _MSM_PIECE
        total = total + _multi_mul(0, scalars[start:stop], raw[start:stop])
    return total


def _multi_mul(g_scalar: int, scalars: Sequence[int], raw: Sequence) -> Point:
    n = len(raw)
    pool = _bn_pool(n + 1)  # per-thread BIGNUMs reused across calls (no allocation per scalar)
    bin2bn = _C.BN_bin2bn
    for bn, value in zip(pool, (g_scalar, *scalars), strict=False):
        if bin2bn((value % Q).to_bytes(_SCALAR_BYTES, "big"), _SCALAR_BYTES, bn) == _NULL:
            raise CryptoError("OpenSSL failed to load a scalar")
    r = _new_pt()
    rc = _C.EC_POINTs_mul(_ECG, r, pool[0], n, list(raw), pool[1 : n + 1], _scratch()[0])
    _check(rc, "EC_POINTs_mul")
    return Point(r)


class PointSum:
    """A running sum of points kept in one OpenSSL point and added to in place: no allocation
    per addition (homomorphic tallies add up thousands of ciphertexts per position)."""

    __slots__ = ("_pt",)

    def __init__(self, start: Point | None = None) -> None:
        self._pt = _new_pt()
        if start is None:
            _check(_C.EC_POINT_set_to_infinity(_ECG, self._pt), "set_to_infinity")
        else:
            _check(_C.EC_POINT_copy(self._pt, start._pt), "copy a point")

    def add_raw(self, raw) -> None:
        """Add an OpenSSL point (:attr:`Point.raw`, or a slot of a :class:`PointArena`)."""
        if _C.EC_POINT_add(_ECG, self._pt, self._pt, raw, _scratch()[0]) != 1:
            raise CryptoError("OpenSSL failed to add points")

    def add(self, point: Point) -> None:
        self.add_raw(point._pt)

    def add_sum(self, other: PointSum) -> None:
        self.add_raw(other._pt)

    def point(self) -> Point:
        """The sum so far, as a new (immutable) point."""
        return Point(_copy_pt(self._pt))


def _copy_pt(raw):
    pt = _new_pt()
    _check(_C.EC_POINT_copy(pt, raw), "copy a point")
    return pt


class PointArena:
    """EC_POINTs reused from one computation to the next, for points needed only inside it (the
    commitments of a batch verification): decoding into the arena allocates nothing once it has
    grown, and builds no :class:`Point`. What :meth:`decode_hex` returns is valid until the next
    :meth:`reset`; an arena belongs to one thread."""

    __slots__ = ("_slots", "_used", "_ctx")

    def __init__(self) -> None:
        self._slots: list = []
        self._used = 0
        self._ctx = _scratch()[0]  # this thread's BN_CTX: the arena stays in its thread

    def reset(self) -> None:
        self._used = 0

    def decode_hex(self, text: str):
        """The strict decoding of :meth:`Point.from_hex` (never the identity) into a slot."""
        if type(text) is not str or len(text) != 130 or text[:2] != "04" or text != text.lower():
            raise InvalidPoint("a point is 130 lowercase hex digits starting with 04")
        try:
            data = bytes.fromhex(text)
        except ValueError:
            data = b""
        if len(data) != _POINT_BYTES:  # not hex, or white space that fromhex skipped
            raise InvalidPoint("a point is 130 lowercase hex digits starting with 04")
        i = self._used
        try:
            pt = self._slots[i]
        except IndexError:
            pt = _new_pt()
            self._slots.append(pt)
        if _oct2point(_ECG, pt, data, _POINT_BYTES, self._ctx) != 1:
            raise InvalidPoint("not a point of P-256 (off the curve or coordinates out of range)")
        self._used = i + 1
        return pt


def _bn_pool(size: int) -> list:
    """``size`` per-thread scratch BIGNUM pointers (kept alive by Bn objects held alongside)."""
    try:
        keep, ptrs = _tls.pool
    except AttributeError:
        keep, ptrs = [], []
        _tls.pool = (keep, ptrs)
    while len(ptrs) < size:
        bn = Bn()
        keep.append(bn)
        ptrs.append(bn.bn)
    return ptrs


# --- Field arithmetic modulo p (hashing to the curve, encoding bytes as points) -----------------
# Python's pow() on 256-bit numbers is ≈ 4× slower than OpenSSL's BN_mod_exp; exponentiations
# (square roots) go through OpenSSL, the rest stays in Python integers. The inputs are public.

_P_BN = Bn.from_binary(P.to_bytes(32, "big"))
_P_PTR = _ffi.cast("BIGNUM *", _addr(_P_BN.bn))
# Montgomery context of p, set once (read-only afterwards, so shared by all threads)
_P_MONT = _lib.BN_MONT_CTX_new()  # lives as long as the process
_SQRT_EXP = (P + 1) // 4  # p ≡ 3 (mod 4): x^((p+1)/4) is a square root of x when one exists


def _init_mont() -> None:
    if _P_MONT == _ffi.NULL:  # pragma: no cover - out of memory
        raise CryptoError("OpenSSL could not allocate a Montgomery context")
    ctx = _ffi.cast("BN_CTX *", _addr(_scratch()[0]))
    _check(_lib.BN_MONT_CTX_set(_P_MONT, _P_PTR, ctx), "BN_MONT_CTX_set")


_init_mont()


def _field_scratch():
    try:
        return _tls.field
    except AttributeError:
        keep = (Bn(), Bn(), Bn())
        _tls.field = field = (
            keep,
            *(_ffi.cast("BIGNUM *", _addr(b.bn)) for b in keep),
            _ffi.new("unsigned char[]", 32),
        )
        return field


def fp_pow(x: int, e: int) -> int:
    """``x^e mod p`` for ``0 ≤ x < p`` and ``0 ≤ e < 2^256`` (OpenSSL's BN_mod_exp_mont)."""
    if not (type(x) is int and 0 <= x < P and type(e) is int and 0 <= e < 2**256):
        raise CryptoError("fp_pow takes a field element and an exponent below 2^256")
    _, bx, be, br, buf = _field_scratch()
    if (
        _lib_bin2bn(x.to_bytes(32, "big"), 32, bx) == _ffi.NULL
        or _lib_bin2bn(e.to_bytes(32, "big"), 32, be) == _ffi.NULL
    ):
        raise CryptoError("OpenSSL failed to load an integer")
    ctx = _ffi.cast("BN_CTX *", _addr(_scratch()[0]))
    _check(_lib.BN_mod_exp_mont(br, bx, be, _P_PTR, ctx, _P_MONT), "BN_mod_exp_mont")
    if _lib.BN_bn2binpad(br, buf, 32) != 32:
        raise CryptoError("OpenSSL failed to write an integer")
    return int.from_bytes(_ffi.buffer(buf, 32), "big")


def fp_inv(x: int) -> int:
    """``x^(−1) mod p``, and 0 for 0 (``inv0`` of RFC 9380 §4)."""
    x %= P
    return pow(x, -1, P) if x else 0


def fp_batch_inv(values: Sequence[int]) -> list[int]:
    """``[inv0(v) for v in values]`` with one inversion (Montgomery's trick)."""
    prefix, acc = [], 1
    for v in values:
        v %= P
        prefix.append(acc)
        if v:
            acc = acc * v % P
    inv = pow(acc, -1, P)
    out = [0] * len(values)
    for i in range(len(values) - 1, -1, -1):
        v = values[i] % P
        if v:
            out[i] = inv * prefix[i] % P
            inv = inv * v % P
    return out


def fp_sqrt(x: int) -> int | None:
    """A square root of ``x`` modulo p (either one), or ``None`` if ``x`` is not a square."""
    y = fp_pow(x, _SQRT_EXP)
    return y if y * y % P == x else None


def curve_rhs(x: int) -> int:
    """``x³ + A·x + B mod p``: a point with abscissa ``x`` exists iff this is a square."""
    return (x * x * x + A * x + B) % P


def random_scalar() -> Scalar:
    """Alias of :meth:`Scalar.random` (OS CSPRNG)."""
    return Scalar.random()


def _check_openssl_validates() -> None:
    """Refuse to run with an OpenSSL whose ``EC_POINT_oct2point`` accepts a point off the curve or
    a coordinate ≥ p (:func:`_decode` relies on it: it checks nothing else)."""
    gx, gy = G.coordinates()
    y0 = fp_sqrt(B)  # the points with x = 0 are (0, ±√B)
    if y0 is None:  # pragma: no cover - B is a square for P-256
        raise CryptoError("no point with x = 0")
    bad = (
        b"\x04" + gx.to_bytes(32, "big") + ((gy + 1) % P).to_bytes(32, "big"),  # off the curve
        b"\x04" + P.to_bytes(32, "big") + y0.to_bytes(32, "big"),  # x = p (≡ 0, not reduced)
        b"\x02" + P.to_bytes(32, "big"),  # compressed, x = p
    )
    for data in bad:
        try:
            _decode(data)
        except InvalidPoint:
            continue
        raise CryptoError("the linked OpenSSL accepts invalid P-256 points: refusing to run")
    if Point(_decode(b"\x04" + gx.to_bytes(32, "big") + gy.to_bytes(32, "big"))) != G:
        raise CryptoError("OpenSSL decoded the generator wrongly")  # pragma: no cover


_check_openssl_validates()
