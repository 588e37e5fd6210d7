"""Placing an order: the checkout is submitted at most once, whatever the network does."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from order_lifecycle.checkout import InDoubt, OrderCreated
from order_lifecycle.exceptions import InvalidResponse, SubmissionRefused
from order_lifecycle.integrations.django import get_store

from . import provider

IN_DOUBT = "We could not confirm your order yet. Please do not order again; we will let you know."


@require_POST
def place_order(request: HttpRequest, checkout_id: str) -> JsonResponse:  # noqa: ARG001 (Django's view signature)
    """Submit the checkout; answer with the order, or a message the customer may read."""
    store = get_store()  # the process's one store, from settings.ORDER_LIFECYCLE
    try:
        body = store.begin_submission(checkout_id)  # claimed: no other process sends it now
    except SubmissionRefused as refused:  # consumed, rejected, in doubt or being sent
        return JsonResponse({"state": str(refused.state)}, status=409)
    try:
        status, answer = provider.post_order(body)
    except OSError:  # a timeout or a lost connection: an order may exist
        store.record_no_response(checkout_id, reason="no answer from POST /orders")
        return JsonResponse({"message": IN_DOUBT}, status=202)
    try:
        outcome = store.record_response(checkout_id, status, answer)
    except InvalidResponse:  # not the provider's shape: in doubt until looked up
        return JsonResponse({"message": IN_DOUBT}, status=202)
    if isinstance(outcome, OrderCreated):
        return JsonResponse({"order": outcome.order.id, "state": str(outcome.order.state)})
    status = 202 if isinstance(outcome, InDoubt) else 409
    return JsonResponse({"message": outcome.customer_message}, status=status)
