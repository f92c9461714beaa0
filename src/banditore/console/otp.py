"""The second factor: a TOTP code from an authenticator app after the password.

Required for amministratori (they hand out roles and settings: a leaked password alone must
not be enough), optional for everyone else. One without a device enrols first: the app reads
the otpauth URI from a QR code, and a code from it confirms the device."""

import base64

import segno
from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

ISSUER = "Banditore"


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code from the authenticator app"), max_length=8, strip=True
    )


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def page_after(request) -> str:
    """Where the verification was asked from, if it is a page of this site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return "console:dashboard"


def qr_data_uri(uri: str) -> str:
    # A data: URI in an <img>: inline SVG would carry style attributes the CSP refuses.
    return segno.make(uri, error="m").png_data_uri(scale=5, border=2)


@login_required
def verify(request):
    device = confirmed_device(request.user)
    if device is None:
        return redirect(_with_next("console:otp_enrol", request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, _why = device.verify_is_allowed()
        if device.verify_token(form.cleaned_data["code"]):
            otp_login(request, device)
            return redirect(page_after(request))
        if allowed:
            form.add_error("code", _("This code is not valid: try the one showing now."))
        else:
            form.add_error("code", _("Too many wrong codes: wait a minute, then try again."))
    return render(
        request, "console/otp/verify.html", {"form": form, "next": request.GET.get("next", "")}
    )


@login_required
def enrol(request):
    if confirmed_device(request.user) is not None and not request.user.is_verified():
        return redirect(_with_next("console:otp_verify", request))
    # One pending device per user, kept across reloads so the QR scanned stays valid.
    device, _created = TOTPDevice.objects.get_or_create(
        user=request.user, confirmed=False, defaults={"name": ISSUER}
    )
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            # Any older device stops working: the new one replaces it.
            TOTPDevice.objects.filter(user=request.user).exclude(pk=device.pk).delete()
            otp_login(request, device)
            return redirect(page_after(request))
        form.add_error("code", _("This code is not valid: check the app's clock and try again."))
    uri = device.config_url
    return render(
        request,
        "console/otp/enrol.html",
        {
            "form": form,
            "uri": uri,
            "secret": base64.b32encode(device.bin_key).decode(),
            "qr": qr_data_uri(uri),
            "next": request.GET.get("next", ""),
        },
    )


def _with_next(name: str, request) -> str:
    target = request.GET.get("next") or request.POST.get("next")
    return reverse(name) + (f"?{urlencode({'next': target})}" if target else "")
