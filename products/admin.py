from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from products.models import Category, Product, Tag


@admin.register(Product)
class ProductAdmin(SimpleHistoryAdmin):
    list_display = ("id", "name", "category", "price", "quantity", "updated_at")
    list_filter = ("category",)
    search_fields = ("name", "description")
    history_list_display = ("history_change_reason", "history_request_id")


@admin.register(Category)
class CategoryAdmin(SimpleHistoryAdmin):
    list_display = ("id", "name", "updated_at")
    search_fields = ("name",)
    history_list_display = ("history_change_reason", "history_request_id")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ("name",)
