"""The shop's URLs: the provider's webhooks, the customer's "place order" button, the admin."""

from django.contrib import admin
from django.urls import path

from order_lifecycle.integrations.django import get_inbox, readiness_view, webhook_view

from . import views

urlpatterns = [
    path("webhooks/digital-river", webhook_view(get_inbox())),
    path("checkouts/<str:checkout_id>/order", views.place_order),
    path("ready", readiness_view()),  # for the load balancer: 200, or 503 saying why
    path("admin/", admin.site.urls),  # orders, deliveries and actions, read from the store
]
