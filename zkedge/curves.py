"""Curve parameters for BN254 (alt_bn128, snarkjs's "bn128") and BLS12-381, in one place.

Both are y^2 = x^3 + b over Fp (G1) and over Fp2 = Fp[u]/(u^2 + 1) (G2, the sextic twist).
Points in Python are affine tuples of ints, ``None`` for the point at infinity:
G1 ``(x, y)``; G2 ``((x.c0, x.c1), (y.c0, y.c1))``.
"""

from __future__ import annotations

from zkedge.record import Frozen

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (zkedge.record)
if TYPE_CHECKING:
    from typing import Literal

    Group = Literal["G1", "G2"]
else:
    Group = str

G1Affine = tuple[int, int]
Fp2 = tuple[int, int]
G2Affine = tuple[Fp2, Fp2]
Point = G1Affine | G2Affine | None

GROUPS: tuple[Group, ...] = ("G1", "G2")


class Curve(Frozen):
    """A pairing-friendly curve: moduli, sizes, generators and the native core's id."""

    __slots__ = (
        "b",
        "b2",
        "fr_generator",
        "fr_two_adicity",
        "g1",
        "g2",
        "name",
        "native_id",
        "p",
        "r",
    )  # fmt: skip
    name: str
    native_id: int
    p: int  # base field modulus
    r: int  # scalar field modulus (group order)
    b: int  # G1: y^2 = x^3 + b
    b2: Fp2  # G2 twist coefficient
    g1: G1Affine
    g2: G2Affine
    fr_two_adicity: int
    fr_generator: int  # multiplicative generator of Fr* (a quadratic non-residue)

    def __init__(
        self,
        *,
        name: str,
        native_id: int,
        p: int,
        r: int,
        b: int,
        b2: Fp2,
        g1: G1Affine,
        g2: G2Affine,
        fr_two_adicity: int,
        fr_generator: int,
    ) -> None:
        self._set(name=name, native_id=native_id, p=p, r=r, b=b, b2=b2, g1=g1, g2=g2,
                  fr_two_adicity=fr_two_adicity, fr_generator=fr_generator)  # fmt: skip

    @property
    def fp_bytes(self) -> int:
        """Bytes of one base-field element: 32 (BN254) or 48 (BLS12-381)."""
        return 32 if self.p.bit_length() <= 256 else 48

    @property
    def fr_bytes(self) -> int:
        """Bytes of one scalar: 32 on both curves."""
        return 32

    def point_bytes(self, group: Group) -> int:
        """Bytes of one uncompressed affine point of ``group``."""
        return 2 * self.fp_bytes if check_group(group) == "G1" else 4 * self.fp_bytes

    def root_of_unity(self, n: int) -> int:
        """A primitive n-th root of unity in Fr (n a power of two up to 2^two_adicity)."""
        if n <= 0 or n & (n - 1):
            raise ValueError(f"domain size must be a power of two, got {n}")
        log_n = n.bit_length() - 1
        if log_n > self.fr_two_adicity:
            raise ValueError(f"{self.name}: domain 2^{log_n} exceeds 2^{self.fr_two_adicity}")
        odd = (self.r - 1) >> self.fr_two_adicity
        w = pow(self.fr_generator, odd, self.r)  # primitive 2^two_adicity-th root
        return pow(w, 1 << (self.fr_two_adicity - log_n), self.r)

    def __str__(self) -> str:
        return self.name


BN254 = Curve(
    name="bn254",
    native_id=0,
    p=21888242871839275222246405745257275088696311157297823662689037894645226208583,
    r=21888242871839275222246405745257275088548364400416034343698204186575808495617,
    b=3,
    b2=(
        19485874751759354771024239261021720505790618469301721065564631296452457478373,
        266929791119991161246907387137283842545076965332900288569378510910307636690,
    ),
    g1=(1, 2),
    g2=(
        (
            10857046999023057135944570762232829481370756359578518086990519993285655852781,
            11559732032986387107991004021392285783925812861821192530917403151452391805634,
        ),
        (
            8495653923123431417604973247489272438418190587263600148770280649306958101930,
            4082367875863433681332203403145435568316851327593401208105741076214120093531,
        ),
    ),
    fr_two_adicity=28,
    fr_generator=5,
)

BLS12_381 = Curve(
    name="bls12_381",
    native_id=1,
    p=int(
        "4002409555221667393417789825735904156556882819939007885332058136124031650490837864442687"
        "629129015664037894272559787"
    ),
    r=52435875175126190479447740508185965837690552500527637822603658699938581184513,
    b=4,
    b2=(4, 4),
    g1=(
        int(
            "368541675371338701678108831518307775796162079578254640989457837868860759237837631883"
            "6054947676345821548104185464507"
        ),
        int(
            "133950654494447647302047137994192122158493387593834962042654373641651142395633350647"
            "2724655353366534992391756441569"
        ),
    ),
    g2=(
        (
            int(
                "35270106958746661818713911601106014489002995279277524021990864423979378573571502687"
                "3347600343865175952761926303160"
            ),
            int(
                "30591443442442137099712598147537816369864703254766475586593732062916353247689584324"
                "33509563104347017837885763365758"
            ),
        ),
        (
            int(
                "19851506022872919355680545211771716383008689782156557308593786650663447263738237184"
                "23869104263333984641494340347905"
            ),
            int(
                "92755366549233245574720196577603788075774019345359297002502797879397687700267556498"
                "0949289727957565575433344219582"
            ),
        ),
    ),
    fr_two_adicity=32,
    fr_generator=7,
)

CURVES: dict[str, Curve] = {
    "bn254": BN254,
    "bn128": BN254,
    "alt_bn128": BN254,
    "bls12_381": BLS12_381,
    "bls12-381": BLS12_381,
    "bls12381": BLS12_381,
}


def get_curve(curve: str | Curve) -> Curve:
    """Look a curve up by name (``bn254``/``bn128``/``alt_bn128``, ``bls12_381``/``bls12-381``)."""
    if isinstance(curve, Curve):
        return curve
    try:
        return CURVES[curve.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"unknown curve {curve!r}; expected one of {sorted(CURVES)}") from None


def check_group(group: str) -> Group:
    """Validate a group name, returning it as ``"G1"`` or ``"G2"``."""
    g = group.upper() if isinstance(group, str) else group
    if g == "G1":
        return "G1"
    if g == "G2":
        return "G2"
    raise ValueError(f"unknown group {group!r}; expected 'G1' or 'G2'")
