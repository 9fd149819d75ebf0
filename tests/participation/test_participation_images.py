"""Images of proposals: JPEG or PNG only (by content), size and pixel limits, metadata stripped
by re-encoding, served safely, named by their SHA-256 on the record."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from board.models import RecordEntry
from participation.errors import InvalidImage
from participation.images import MAX_IMAGE_BYTES, image_clean
from participation.models import Phase, Proposal, ProposalImage
from tests.participation.conftest import phase_set
from tests.participation.test_participation_pages import record_payloads, submit

pytestmark = pytest.mark.django_db

GPS_TAG = 0x8825
MAKE_TAG = 0x010F


def jpeg_with_exif(size=(40, 30), orientation=None) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[MAKE_TAG] = "SpyCam 3000"
    exif[GPS_TAG] = {1: "N", 2: (48.0, 51.0, 24.0)}
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"secret comment")
    return out.getvalue()


def png_with_palette_transparency() -> bytes:
    image = Image.new("P", (8, 8), 1)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    out = io.BytesIO()
    image.save(out, "PNG", transparency=1, dpi=(300, 300))
    return out.getvalue()


def png_with_text() -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Resident, 12 Hidden Street")
    out = io.BytesIO()
    Image.new("RGBA", (20, 10), (0, 0, 255, 128)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def test_jpeg_metadata_is_stripped() -> None:
    raw = jpeg_with_exif()
    assert b"SpyCam" in raw and b"secret comment" in raw
    clean = image_clean(raw)
    assert clean.content_type == "image/jpeg" and (clean.width, clean.height) == (40, 30)
    assert b"SpyCam" not in clean.data and b"secret comment" not in clean.data
    with Image.open(io.BytesIO(clean.data)) as image:
        assert not image.getexif() and "exif" not in image.info and "icc_profile" not in image.info
    assert clean.digest == hashlib.sha256(clean.data).hexdigest()


def test_an_exif_rotation_is_applied_before_stripping() -> None:
    clean = image_clean(jpeg_with_exif(size=(40, 30), orientation=6))  # 90° clockwise
    assert (clean.width, clean.height) == (30, 40)


def test_png_text_chunks_are_stripped() -> None:
    raw = png_with_text()
    assert b"Hidden Street" in raw
    clean = image_clean(raw)
    assert clean.content_type == "image/png" and b"Hidden Street" not in clean.data
    with Image.open(io.BytesIO(clean.data)) as image:
        assert image.mode == "RGBA" and not image.text


def test_palette_transparency_survives_and_dpi_does_not() -> None:
    clean = image_clean(png_with_palette_transparency())
    with Image.open(io.BytesIO(clean.data)) as image:
        assert image.mode == "RGBA" and image.getpixel((0, 0))[3] == 0
        assert "dpi" not in image.info and "transparency" not in image.info


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` × ``height`` (a decompression bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00"))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty"),
        (b"%PDF-1.7\n...", "not a JPEG or PNG"),
        (b"GIF89a" + bytes(30), "not a JPEG or PNG"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not a JPEG or PNG"),
        (bytes(MAX_IMAGE_BYTES + 1), "larger than 3 MiB"),
        (_png_header_only(7999, 7999), "too many pixels"),
        (_png_header_only(9000, 10), "at most 8000 pixels"),
        (_png_header_only(100, 100), "damaged or incomplete"),
    ],
)
def test_bad_images_are_refused(raw, message) -> None:
    with pytest.raises(InvalidImage, match=message):
        image_clean(raw)


def test_a_truncated_jpeg_is_refused() -> None:
    raw = jpeg_with_exif(size=(200, 200))
    with pytest.raises(InvalidImage):
        image_clean(raw[: len(raw) // 2])


def upload(client, process, raw, description="A red square", number=1, name="photo.jpg"):
    return client.post(
        f"/p/{process.slug}/proposals/{number}/images",
        {
            "image": SimpleUploadedFile(name, raw, content_type="image/jpeg"),
            "description": description,
        },
    )


def test_the_author_adds_and_removes_an_image(client, resident_client, process) -> None:
    submit(resident_client, process)
    assert upload(resident_client, process, jpeg_with_exif()).status_code == 302
    image = ProposalImage.objects.get()
    proposal = Proposal.objects.get()
    assert proposal.version == 2
    versions = record_payloads(process, "proposal")
    assert versions[-1]["images"] == [{"sha256": image.digest, "description": "A red square"}]
    page = client.get(f"/p/{process.slug}/proposals/1/").content.decode()
    assert f'src="/p/{process.slug}/images/{image.digest}"' in page and 'alt="A red square"' in page
    served = client.get(f"/p/{process.slug}/images/{image.digest}")
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served["Content-Security-Policy"]
    assert hashlib.sha256(served.content).hexdigest() == image.digest
    assert b"SpyCam" not in served.content
    # the same image twice is refused
    again = upload(resident_client, process, jpeg_with_exif())
    assert again.status_code == 400 and "already has this image" in again.content.decode()
    response = resident_client.post(f"/p/{process.slug}/proposals/1/images/{image.pk}/remove")
    assert response.status_code == 302 and not ProposalImage.objects.exists()
    assert record_payloads(process, "proposal")[-1]["images"] == []
    assert client.get(f"/p/{process.slug}/images/{image.digest}").status_code == 404


def test_at_most_three_images(resident_client, process) -> None:
    submit(resident_client, process)
    for i in range(3):
        assert (
            upload(resident_client, process, jpeg_with_exif(size=(10 + i, 10))).status_code == 302
        )
    fourth = upload(resident_client, process, jpeg_with_exif(size=(20, 10)))
    assert fourth.status_code == 400 and "at most 3 images" in fourth.content.decode()
    assert ProposalImage.objects.count() == 3


@pytest.mark.parametrize(
    ("raw", "description", "status"),
    [
        (b"not an image", "Text", 400),
        (png_with_text(), "", 400),
        (png_with_text(), "x" * 201, 400),
    ],
)
def test_a_bad_upload_changes_nothing(resident_client, process, raw, description, status) -> None:
    submit(resident_client, process)
    before = RecordEntry.objects.count()
    response = upload(resident_client, process, raw, description=description)
    assert response.status_code == status
    assert not ProposalImage.objects.exists() and Proposal.objects.get().version == 1
    assert RecordEntry.objects.count() == before


def test_only_the_author_during_the_proposals_phase(
    resident_client, process, django_capture_on_commit_callbacks
) -> None:
    from django.test import Client

    from tests.participation.conftest import login

    submit(resident_client, process)
    other = Client()
    login(other, process, "r1@example.org", django_capture_on_commit_callbacks)
    assert upload(other, process, png_with_text()).status_code == 403
    phase_set(process, Phase.SUPPORTS)
    assert upload(resident_client, process, png_with_text()).status_code == 409
    assert not ProposalImage.objects.exists()


def test_an_oversized_request_is_refused_before_it_is_read(resident_client, process) -> None:
    submit(resident_client, process)
    response = upload(resident_client, process, bytes(5 * 1024 * 1024))
    assert response.status_code == 413
    assert not ProposalImage.objects.exists()


def test_an_unknown_image_is_not_found(client, process) -> None:
    assert client.get(f"/p/{process.slug}/images/{'0' * 64}").status_code == 404
    assert client.get(f"/p/{process.slug}/images/not-a-digest").status_code == 404
