from __future__ import annotations

from datetime import time
from decimal import Decimal

import factory

from properties.models import Business, Membership, Property, PropertyGroup, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class BusinessFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Business

    name = factory.Sequence(lambda n: f"Business {n}")
    slug = factory.Sequence(lambda n: f"biz{n}")
    contact_email = factory.LazyAttribute(lambda b: f"hello@{b.slug}.example.com")
    timezone = "Europe/London"
    currency = "EUR"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory, is_staff=True)
    business = factory.SubFactory(BusinessFactory)
    role = Membership.Role.OWNER


class PropertyGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PropertyGroup

    business = factory.SubFactory(BusinessFactory)
    name = factory.Sequence(lambda n: f"Group {n}")


class PropertyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Property

    business = factory.SubFactory(BusinessFactory)
    name = factory.Sequence(lambda n: f"Cottage {n}")
    slug = factory.Sequence(lambda n: f"cottage-{n}")
    max_guests = 4
    bedrooms = 2
    base_price = Decimal("100.00")
    cleaning_fee = Decimal("50.00")
    min_nights = 1
    check_in_time = time(16, 0)
    check_out_time = time(10, 0)
    published = True
