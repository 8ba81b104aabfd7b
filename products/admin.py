from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from products.models import Product


@admin.register(Product)
class ProductAdmin(SimpleHistoryAdmin):
    list_display = ("id", "name", "price", "quantity", "updated_at")
    search_fields = ("name", "description")
    history_list_display = ("history_change_reason", "history_request_id")
