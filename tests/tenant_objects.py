"""One factory per tenant-owned model that has an admin, for the generic isolation
tests in tests/properties/test_admin.py. A TenantAdmin without an entry here fails
`test_every_tenant_admin_has_a_factory`, so new models cannot skip the checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import models

from properties.models import (
    ApiToken,
    Business,
    Membership,
    Property,
    PropertyGroup,
    PropertyImage,
    SeasonalRate,
)
from properties.services import api_token_create
from tests.factories import MembershipFactory, PropertyFactory, PropertyGroupFactory

TenantObjectFactory = Callable[[Business], models.Model]

TENANT_OBJECT_FACTORIES: dict[type[models.Model], TenantObjectFactory] = {
    Business: lambda business: business,
    Membership: lambda business: MembershipFactory(business=business, role=Membership.Role.STAFF),
    PropertyGroup: lambda business: PropertyGroupFactory(business=business),
    Property: lambda business: PropertyFactory(business=business),
    SeasonalRate: lambda business: SeasonalRate.objects.create(
        business=business,
        property=PropertyFactory(business=business),
        name="Summer",
        start=date(2030, 7, 1),
        end=date(2030, 9, 1),
        nightly_price=Decimal("150.00"),
    ),
    PropertyImage: lambda business: PropertyImage.objects.create(
        business=business, property=PropertyFactory(business=business), alt_text="A photo"
    ),
    ApiToken: lambda business: api_token_create(
        business=business, user=business.memberships.first().user
    )[0],
}


def register(model: type[models.Model]) -> Callable[[TenantObjectFactory], TenantObjectFactory]:
    def decorator(factory: TenantObjectFactory) -> TenantObjectFactory:
        TENANT_OBJECT_FACTORIES[model] = factory
        return factory

    return decorator


# Later apps register their models from tests/<app>/objects.py with @register(Model).
for _module in ("tests.bookings.objects", "tests.messaging.objects", "tests.integrations.objects"):
    __import__(_module)


def make(model: type[models.Model], business: Business, **_: Any) -> models.Model:
    return TENANT_OBJECT_FACTORIES[model](business)
