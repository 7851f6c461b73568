"""allauth, fitted to Holidesk's hosts.

- Owners sign in on the app host and land on their dashboard; visitors sign in on a business
  site and stay there (a session only works on the host kind that made it,
  properties.middleware.SessionHostMiddleware).
- Account emails (password reset, address confirmation, "unknown account") link only
  to hosts the platform controls: the app host, or on a business site that business's
  `<slug>.<base domain>`. Never the request's Host header, which the sender of the
  request chooses: a reset asked for with `Host: evil.example` must not mail a link
  to evil.example.
- Rate limits key on the real client IP behind the load balancer
  (properties.clientip).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formataddr, parseaddr
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.contrib.sites.models import Site
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMessage
from django.http import HttpRequest
from django.urls import reverse

from properties.clientip import client_ip
from properties.models import Membership, User
from properties.urls_util import app_url, business_subdomain, business_subdomain_url


@dataclass(frozen=True)
class EmailSite:
    """What allauth's email templates call `current_site`."""

    name: str
    domain: str


class AccountAdapter(DefaultAccountAdapter):
    """Owners and managers sign in on the app host and land on their dashboard;
    visitors sign in on a business site and stay there."""

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        # reverse() follows the request's URLconf: the site's on a business host.
        if getattr(request, "business", None) is not None:
            return reverse("site-home")
        user = request.user
        if isinstance(user, User) and Membership.objects.filter(user=user).exists():
            return reverse("dashboard:today")
        return reverse("onboarding")

    def get_signup_redirect_url(self, request: HttpRequest) -> str:
        return self.get_login_redirect_url(request)

    def get_client_ip(self, request: HttpRequest) -> str:
        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine the client's IP address.")
        return ip

    # --- Links in account emails --------------------------------------------------------

    def _platform_url(self, path: str) -> str:
        business = getattr(self.request, "business", None)
        return business_subdomain_url(business, path) if business else app_url(path)

    def _platform_host(self) -> str:
        business = getattr(self.request, "business", None)
        return business_subdomain(business) if business else settings.HOLIDESK_APP_HOST

    def _platform_link(self, url: str) -> str:
        """`url` moved onto the platform's origin if it was built from the request's
        host (port included: `Host: localhost:6666` is still the app host)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return url
        request = self.request
        # Outside a request allauth builds links from django.contrib.sites instead.
        if request is not None:
            built_from = request.get_host()
        else:
            built_from = Site.objects.get_current().domain
        if parts.netloc.lower() != built_from.lower():
            return url  # not built by allauth from that host: a link to somewhere else
        return self._platform_url(urlunsplit(("", "", parts.path, parts.query, parts.fragment)))

    def get_reset_password_from_key_url(self, key: str) -> str:
        return self._platform_link(super().get_reset_password_from_key_url(key))

    def get_email_confirmation_url(self, request: HttpRequest, emailconfirmation: Any) -> str:
        return self._platform_link(super().get_email_confirmation_url(request, emailconfirmation))

    def format_email_subject(self, subject: str) -> str:
        return f"[{self._email_site().name}] {subject}"

    def _email_site(self) -> EmailSite:
        business = getattr(self.request, "business", None)
        name = business.name if business else "Holidesk"
        return EmailSite(name=name, domain=self._platform_host())

    def get_from_email(self) -> str:
        """On a business site, account emails come from the business by name (at the
        platform's sending address); on the app host, from Holidesk."""
        business = getattr(self.request, "business", None)
        if business is None:
            return str(settings.DEFAULT_FROM_EMAIL)
        _, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
        return formataddr((business.name, address))

    def render_mail(
        self,
        template_prefix: str,
        email: str | list[str],
        context: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> EmailMessage:
        message = super().render_mail(template_prefix, email, context, headers)
        business = getattr(self.request, "business", None)
        if business is not None and business.contact_email:
            message.reply_to = [business.contact_email]
        return message

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        # Every absolute link allauth puts in any account email, whichever flow built
        # it, is moved onto the platform's host; the site named is ours, not the
        # django.contrib.sites placeholder.
        context = {
            key: self._platform_link(value) if isinstance(value, str) else value
            for key, value in context.items()
        }
        context["current_site"] = self._email_site()
        super().send_mail(template_prefix, email, context)
