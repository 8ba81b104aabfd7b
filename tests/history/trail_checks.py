"""Helpers shared by the audit-trail tests."""

from __future__ import annotations

from products.models import (
    Product,
)

HistoricalProduct = Product.history.model


CREATE = """
mutation($input: CreateProductInput!) {
  createProduct(input: $input) {
    __typename
    ... on Product { id }
    ... on OperationInfo { messages { kind code field } }
  }
}
"""
UPDATE = """
mutation($input: UpdateProductInput!) {
  updateProduct(input: $input) {
    __typename
    ... on Product { name }
    ... on OperationInfo { messages { kind code field } }
  }
}
"""
