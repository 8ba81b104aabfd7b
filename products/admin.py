"""The catalog in Django's admin. Every write goes through the services, so
the admin records the same versions as the API, with the admin user."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models, transaction
from django.forms import ModelForm
from django.http import HttpRequest

from history.admin import TrackedModelAdmin, refusals_forbidden
from products.models import MAX_TAGS, Category, Product, Tag
from products.services import (
    CATEGORY_FIELDS,
    PRODUCT_FIELDS,
    category_create,
    category_delete,
    category_update,
    product_create,
    product_delete,
    product_update,
    tag_delete,
)


def service_data(form: ModelForm[Any], names: tuple[str, ...]) -> dict[str, Any]:
    """What a valid admin form holds, as the services take it: related objects
    by primary key, tags by name."""
    data: dict[str, Any] = {}
    for name in names:
        if name not in form.cleaned_data:
            continue
        value = form.cleaned_data[name]
        if name == "tags":
            value = [tag.name for tag in value]
        elif isinstance(value, models.Model):
            value = value.pk
        data[name] = value
    return data


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

    def save_model(
        self, request: HttpRequest, obj: Product, form: ModelForm[Any], change: bool
    ) -> None:
        data = service_data(form, (*PRODUCT_FIELDS, "tags"))
        with refusals_forbidden():
            if change:
                product_update(pk=obj.pk, data=data, actor=request.user)
            else:
                obj.pk = product_create(data=data, actor=request.user).pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Product) -> None:
        with refusals_forbidden():
            product_delete(pk=obj.pk, actor=request.user)


@admin.register(Category)
class CategoryAdmin(TrackedModelAdmin):
    list_display = ("id", "name", "updated_at")
    search_fields = ("name",)

    def save_model(
        self, request: HttpRequest, obj: Category, form: ModelForm[Any], change: bool
    ) -> None:
        data = service_data(form, CATEGORY_FIELDS)
        with refusals_forbidden():
            if change:
                category_update(pk=obj.pk, data=data, actor=request.user)
            else:
                obj.pk = category_create(data=data, actor=request.user).pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Category) -> None:
        # The admin refuses to delete a category that has products (the foreign
        # key is PROTECT); one that gained a product since leaves it recorded.
        with refusals_forbidden():
            category_delete(pk=obj.pk, actor=request.user)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ("name",)

    def delete_model(self, request: HttpRequest, obj: Tag) -> None:
        with refusals_forbidden():
            tag_delete(pk=obj.pk, actor=request.user)

    def delete_queryset(
        self, request: HttpRequest, queryset: models.QuerySet[Tag]
    ) -> None:
        with transaction.atomic(), refusals_forbidden():
            for tag in queryset:
                tag_delete(pk=tag.pk, actor=request.user)
