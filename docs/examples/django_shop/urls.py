"""The shop's URLs: the provider's webhooks, and the customer's "place order" button."""

from django.urls import path

from order_lifecycle.integrations.django import webhook_view

from . import orders, views

urlpatterns = [
    path("webhooks/digital-river", webhook_view(orders.inbox())),
    path("checkouts/<str:checkout_id>/order", views.place_order),
]
