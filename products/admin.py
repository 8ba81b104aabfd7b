"""The catalog in Django's admin. Every write goes through the services, so
the admin records the same versions as the API, with the admin user."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.forms import ModelForm

from history.admin import AdminServices, ServiceWritesMixin, TrackedModelAdmin
from products.models import MAX_TAGS, Category, Product, Tag
from products.services import (
    CATEGORY_FIELDS,
    PRODUCT_FIELDS,
    category_create,
    category_delete,
    category_revert,
    category_update,
    product_create,
    product_delete,
    product_revert,
    product_update,
    tag_delete,
)


class ProductForm(forms.ModelForm):
    """The product form, refusing what the services would (too many tags)."""

    class Meta:
        model = Product
        fields = (*PRODUCT_FIELDS, "tags")

    def clean_tags(self) -> Any:
        tags = self.cleaned_data["tags"]
        if len(tags) > MAX_TAGS:
            raise forms.ValidationError(f"A product has at most {MAX_TAGS} tags.")
        return tags


@admin.register(Product)
class ProductAdmin(TrackedModelAdmin):
    form = ProductForm
    list_display = ("id", "name", "category", "price", "quantity", "updated_at")
    list_filter = ("category",)
    search_fields = ("name", "description")
    services = AdminServices(
        create=product_create,
        update=product_update,
        delete=product_delete,
        revert=product_revert,
    )
    service_fields = (*PRODUCT_FIELDS, "tags")

    def service_data(self, form: ModelForm[Any]) -> dict[str, Any]:
        data = super().service_data(form)
        if "tags" in form.cleaned_data:  # the services take tags by name
            data["tags"] = [tag.name for tag in form.cleaned_data["tags"]]
        return data


@admin.register(Category)
class CategoryAdmin(TrackedModelAdmin):
    """Deleting a category that has products is refused by the admin (the
    foreign key is PROTECT); one that gained a product since leaves it,
    recorded, as `category_delete` does."""

    list_display = ("id", "name", "updated_at")
    search_fields = ("name",)
    services = AdminServices(
        create=category_create,
        update=category_update,
        delete=category_delete,
        revert=category_revert,
    )
    service_fields = CATEGORY_FIELDS


@admin.register(Tag)
class TagAdmin(ServiceWritesMixin, admin.ModelAdmin):
    """Tags are created and renamed as they are (versions keep the names they
    had); deleting one goes through `tag_delete`, which records a version of
    each product that had it."""

    search_fields = ("name",)
    services = AdminServices(delete=tag_delete)
