"""Publishing photos (alt text, captions, order): the one service the dashboard and the
API call, and who may call it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from properties.models import Membership, PropertyImage
from properties.permissions import MANAGE_PROPERTIES, NotAllowed, permits
from properties.photos.errors import PhotoAltTextMissing, PhotoDetailsInvalid, PhotoNotFound
from properties.photos.publishing import PhotoDetails, photo_move, photos_publish, photos_reorder
from properties.photos.services import photo_add
from tests.conftest import Tenant
from tests.factories import MembershipFactory
from tests.properties.photos.images import jpeg_bytes


def add(tenant: Tenant, n: int) -> list[PropertyImage]:
    return [
        photo_add(
            business=tenant.business,
            property=tenant.prop,
            file=io.BytesIO(jpeg_bytes(300, 200)),
            name=f"{i}.jpg",
            alt_text=f"Photo {i}",
            enqueue=False,
        )
        for i in range(n)
    ]


def order() -> list[int]:
    return list(PropertyImage.objects.order_by("position", "id").values_list("pk", flat=True))


def test_owners_and_managers_may_edit_properties_staff_may_not(tenant: Tenant) -> None:
    for role, allowed in (
        (Membership.Role.OWNER, True),
        (Membership.Role.MANAGER, True),
        (Membership.Role.STAFF, False),
    ):
        membership = MembershipFactory(business=tenant.business, role=role)
        assert permits(membership, MANAGE_PROPERTIES, tenant.prop) is allowed


def test_staff_cannot_publish(tenant: Tenant, photo_dirs: tuple[Path, Path]) -> None:
    (photo,) = add(tenant, 1)
    cleaner = MembershipFactory(business=tenant.business, role=Membership.Role.STAFF).user
    with pytest.raises(NotAllowed):
        photos_publish(
            by=cleaner,
            business=tenant.business,
            property=tenant.prop,
            details=[PhotoDetails(id=photo.pk, alt_text="Mine")],
        )
    photo.refresh_from_db()
    assert photo.alt_text == "Photo 0"


def test_publish_lists_first_and_keeps_the_rest_after(
    tenant: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    a, b, c = add(tenant, 3)
    photos_publish(
        by=tenant.owner,
        business=tenant.business,
        property=tenant.prop,
        details=[PhotoDetails(id=c.pk, alt_text="  Sea view  ", caption=" View ")],
    )
    assert order() == [c.pk, a.pk, b.pk]
    c.refresh_from_db()
    assert (c.alt_text, c.caption) == ("Sea view", "View")


def test_missing_or_too_long_text_saves_nothing(
    tenant: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    a, b = add(tenant, 2)
    for details, error in (
        ([PhotoDetails(id=b.pk, alt_text="B"), PhotoDetails(id=a.pk, alt_text="")], "alt"),
        ([PhotoDetails(id=b.pk, alt_text="x" * 251)], "long"),
        ([PhotoDetails(id=b.pk, alt_text="B", caption="x" * 201)], "long"),
    ):
        with pytest.raises(PhotoDetailsInvalid) as refused:
            photos_publish(
                by=tenant.owner, business=tenant.business, property=tenant.prop, details=details
            )
        assert isinstance(refused.value, PhotoAltTextMissing) is (error == "alt")
        assert order() == [a.pk, b.pk]
    b.refresh_from_db()
    assert (b.alt_text, b.caption) == ("Photo 1", "")


def test_duplicate_or_foreign_ids_are_not_found(
    tenant: Tenant, outsider: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    (a,) = add(tenant, 1)
    (theirs,) = add(outsider, 1)
    for ids in ([a.pk, a.pk], [theirs.pk], [a.pk + theirs.pk + 1000]):
        with pytest.raises(PhotoNotFound):
            photos_reorder(
                by=tenant.owner, business=tenant.business, property=tenant.prop, order=ids
            )


def test_move_is_clamped_at_the_ends(tenant: Tenant, photo_dirs: tuple[Path, Path]) -> None:
    a, b, c = add(tenant, 3)
    kwargs = {"by": tenant.owner, "business": tenant.business, "property": tenant.prop}
    photo_move(**kwargs, photo_id=a.pk, step=-1)  # type: ignore[arg-type]
    assert order() == [a.pk, b.pk, c.pk]
    photo_move(**kwargs, photo_id=a.pk, step=1)  # type: ignore[arg-type]
    assert order() == [b.pk, a.pk, c.pk]
    photo_move(**kwargs, photo_id=c.pk, step=1)  # type: ignore[arg-type]
    assert order() == [b.pk, a.pk, c.pk]


def test_another_business_s_property_is_not_found_not_forbidden(
    tenant: Tenant, outsider: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    with pytest.raises(PhotoNotFound):
        photos_reorder(by=tenant.owner, business=tenant.business, property=outsider.prop, order=[])
