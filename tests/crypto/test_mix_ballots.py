"""A mixed question's row (protocol §15.10): packing 16 options per ciphertext and the public
weight, then decoding the decrypted row; the manifest's ``mixed`` flag."""

import copy

import pytest
from hypothesis import given, settings

from crypto.elgamal import encrypt, keygen
from crypto.errors import CryptoError, InvalidEncoding
from crypto.mix.ballots import PACK_BITS, MixLayout, MixRowDecoder, mix_row
from crypto.mix.rows import CiphertextList
from crypto.mix.shuffle import shuffle
from crypto.pointenc import encode_int
from tests.strategies import mixed_answers

SECRET, KEY = keygen()
DECODER_CACHE: dict = {}


def _decrypt(row):
    return [ct.beta - ct.alpha * SECRET.x for ct in row]


def _decoder(layout):
    key = layout.options
    if key not in DECODER_CACHE:
        DECODER_CACHE[key] = MixRowDecoder(layout)
    return DECODER_CACHE[key]


@settings(max_examples=25, deadline=None)
@given(mixed_answers())
def test_a_row_decodes_to_the_choices_and_weight_after_a_shuffle(case) -> None:
    options, choices, weight = case
    layout = MixLayout.of(range(len(options)), options)
    answers = [[encrypt(KEY, c)[0] for c in row] for row in choices]
    row = mix_row(layout, answers, weight)
    assert len(row) == layout.width == sum(-(-n // PACK_BITS) for n in options) + 1
    assert row[-1].alpha.is_identity() and row[-1].beta == encode_int(weight)  # public weight
    (shuffled,), _ = shuffle(KEY, CiphertextList(layout.width, (row,)))[0].rows, None
    assert not shuffled[-1].alpha.is_identity()  # re-randomised by the shuffle
    expected = {"choices": [[i for i, c in enumerate(r) if c] for r in choices], "weight": weight}
    assert _decoder(layout).decode(_decrypt(shuffled)) == expected


@pytest.mark.parametrize("n", [1, 15, 16, 17, 32, 33])
def test_component_boundaries(n) -> None:
    layout = MixLayout.of([0], [n])
    all_selected = [encrypt(KEY, 1)[0] for _ in range(n)]
    row = mix_row(layout, [all_selected], 3)
    assert layout.width == -(-n // 16) + 1
    assert _decoder(layout).decode(_decrypt(row)) == {"choices": [list(range(n))], "weight": 3}


def test_rows_that_do_not_decode_are_null() -> None:
    layout = MixLayout.of([0], [3])
    decoder = _decoder(layout)
    # bit 3 set on a 3-option question; a weight of 0; a component beyond the bound
    assert decoder.decode([encode_int(0b1000), encode_int(1)]) is None
    assert decoder.decode([encode_int(1), encode_int(0)]) is None
    assert decoder.decode([encode_int(1 << 16), encode_int(1)]) is None
    with pytest.raises(CryptoError):
        decoder.decode([encode_int(1)])
    with pytest.raises(CryptoError):
        mix_row(layout, [[encrypt(KEY, 1)[0]] * 2], 1)  # a ballot missing an option
    with pytest.raises(CryptoError):
        mix_row(layout, [[encrypt(KEY, 1)[0]] * 3], 0)


@pytest.fixture(scope="module")
def valid_manifest_json() -> dict:
    from tests.verifier.boardgen import ALL_KINDS, BoardBuilder

    builder = BoardBuilder(questions=ALL_KINDS)
    builder.run_ceremony()
    builder.publish_credentials(2)
    builder.open()
    return builder.manifest.data


def test_the_manifest_flag(valid_manifest_json) -> None:
    from crypto.manifest import Manifest

    data = copy.deepcopy(valid_manifest_json)
    kinds = [q["kind"] for q in data["questions"]]
    approval = kinds.index("approval") if "approval" in kinds else None
    assert approval is not None
    data["questions"][approval]["mixed"] = True
    assert MixLayout(Manifest.from_json(data)).questions == (approval,)
    for bad in (False, 1, "true"):
        data["questions"][approval]["mixed"] = bad
        with pytest.raises(InvalidEncoding):
            Manifest.from_json(data)
    data["questions"][approval].pop("mixed")
    single = kinds.index("single")
    data["questions"][single]["mixed"] = True
    with pytest.raises(InvalidEncoding, match="only approval and budget"):
        Manifest.from_json(data)
