from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest
from django.urls import reverse

from properties.models import Membership, User


class AccountAdapter(DefaultAccountAdapter):
    """Owners sign in on the app host and land in the admin; visitors sign in on a
    business site and stay there."""

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        # reverse() follows the request's URLconf: the site's on a business host.
        if getattr(request, "business", None) is not None:
            return reverse("site-home")
        user = request.user
        if isinstance(user, User) and Membership.objects.filter(user=user).exists():
            return reverse("admin:index")
        return reverse("onboarding")

    def get_signup_redirect_url(self, request: HttpRequest) -> str:
        return self.get_login_redirect_url(request)
