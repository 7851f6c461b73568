"""Photos in the admin: the inline on a property (add with a file, edit alt text,
caption and order, see each photo's thumbnail and state) and a list of all photos
with "process again". Every new file goes through `photo_add`, deletions through
`photo_delete`; the form only presents the validation's errors."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from properties.admin_base import TenantAdmin, TenantInline
from properties.models import Property, PropertyImage, PropertyImageRendition
from properties.photos.errors import PhotoRejected
from properties.photos.selectors import photo_progress, rendition_sources
from properties.photos.services import photo_add, photo_delete, photo_reprocess
from properties.photos.validation import CONTENT_TYPES, photo_inspect

State = PropertyImage.State


class PropertyImageForm(forms.ModelForm[PropertyImage]):
    upload = forms.FileField(
        label="Photo",
        required=False,
        help_text="JPEG, PNG or WebP.",
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(CONTENT_TYPES)}),
    )

    class Meta:
        model = PropertyImage
        fields = ("upload", "alt_text", "caption", "position")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # A stored photo is never replaced in place: add a new one instead.
            self.fields["upload"].disabled = True
            self.fields["upload"].widget = forms.HiddenInput()

    def clean_upload(self) -> Any:
        upload = self.cleaned_data.get("upload")
        if self.instance.pk:
            return None
        if not upload:
            raise forms.ValidationError("Choose a photo to upload.")
        try:
            photo_inspect(upload, name=upload.name)
        except PhotoRejected as exc:
            raise forms.ValidationError(exc.message) from None
        return upload


def thumbnail(image: PropertyImage) -> str:
    sources = rendition_sources(image, PropertyImageRendition.Format.JPEG)
    if not sources:
        return "—"
    return format_html(
        '<img src="{}" width="{}" height="{}" alt="" style="width:96px;height:auto">',
        sources[0].url,
        sources[0].width,
        sources[0].height,
    )


def status(image: PropertyImage) -> str:
    if image.state == State.FAILED:
        return format_html("Failed: {}", image.failure_reason)
    if image.state == State.READY and not image.alt_text.strip():
        return "Ready; hidden until it has alt text"
    return str(image.get_state_display())


class PropertyImageInline(TenantInline):
    model = PropertyImage
    form = PropertyImageForm
    fields = ("preview", "upload", "alt_text", "caption", "position", "state_column")
    readonly_fields = ("preview", "state_column")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).prefetch_related("renditions")

    @admin.display(description="Preview")
    def preview(self, image: PropertyImage) -> str:
        return thumbnail(image) if image.pk else ""

    @admin.display(description="State")
    def state_column(self, image: PropertyImage) -> str:
        return status(image) if image.pk else ""


def save_photo_formset(formset: Any, *, parent: Property) -> None:
    """What PropertyAdmin.save_formset does for the photos inline."""
    # Writes nothing; fills new/changed/deleted_objects, which the admin's change
    # message reads.
    formset.save(commit=False)
    created = []
    for form in formset.deleted_forms:
        if form.instance.pk:
            photo_delete(image=form.instance)
    for form in formset.forms:
        if form in formset.deleted_forms or not form.has_changed():
            continue
        if form.instance.pk:
            form.save()
            continue
        data = form.cleaned_data
        image = photo_add(
            business=parent.business,
            property=parent,
            file=data["upload"],
            name=data["upload"].name,
            alt_text=data.get("alt_text") or "",
            caption=data.get("caption") or "",
            position=data.get("position"),
        )
        created.append(image)
    formset.new_objects = created


def photo_progress_text(prop: Property) -> str:
    if not prop.pk:
        return "—"
    progress = photo_progress(business=prop.business, property=prop)
    text = str(progress)
    if progress.failed:
        text += f", {progress.failed} failed"
    return text


class PropertyImageAdmin(TenantAdmin):
    list_display = ("list_preview", "property", "alt_text", "list_state", "position")
    list_filter = ("state", "property")
    list_select_related = ("property",)
    fields = ("property", "alt_text", "caption", "position")
    readonly_fields = ("property",)
    actions = ["process_again"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).prefetch_related("renditions")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # photos are added on their property's page

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        photo_delete(image=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for image in queryset:
            photo_delete(image=image)

    @admin.display(description="Preview")
    def list_preview(self, image: PropertyImage) -> str:
        return thumbnail(image)

    @admin.display(description="State", ordering="state")
    def list_state(self, image: PropertyImage) -> str:
        return status(image)

    @admin.action(description="Process the selected photos again")
    def process_again(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        count = 0
        for image in queryset:
            photo_reprocess(image=image)
            count += 1
        self.message_user(request, f"{count} photo(s) queued for processing.")
