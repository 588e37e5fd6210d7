"""The tutorial's shop: a FastAPI app that places orders and receives the provider's webhooks.

Run it with ``uvicorn shop:app``; it reads its database, the webhook's secrets and the
provider's address from the environment, so no DSN or secret sits in the code.
"""

import json
import os
import urllib.error
import urllib.request

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from order_lifecycle import Inbox, Reconciler, open_store
from order_lifecycle.checkout import InDoubt, OrderCreated
from order_lifecycle.exceptions import InvalidInput, InvalidResponse, SubmissionRefused
from order_lifecycle.integrations.starlette import reconciler_lifespan, webhook_route

DATABASE = os.environ["ORDER_LIFECYCLE_DB"]
PROVIDER = os.environ.get("PROVIDER_URL", "http://127.0.0.1:8421")  # the sandbox's address
IN_DOUBT = "We could not confirm your order yet. Please do not order again; we will let you know."

# One store per process serves every request (stores are thread-safe); the reconciler,
# a thread of the app, gets its own: its own connection. It looks for new deliveries
# every 0.2 s while none is waiting.
store = open_store(DATABASE)
inbox = Inbox(store, secrets=os.environ["ORDER_LIFECYCLE_SECRETS"].split(","))
reconciler = Reconciler(open_store(DATABASE), idle=0.2)

app = FastAPI(lifespan=reconciler_lifespan(reconciler))
app.router.routes.append(webhook_route(inbox, path="/webhooks/digital-river"))


def post_order(body: dict[str, str]) -> tuple[int, bytes]:
    """The provider's status and raw body for ``POST /orders`` (OSError: no answer)."""
    request = urllib.request.Request(  # noqa: S310 (the provider's URL, from the environment)
        f"{PROVIDER}/orders",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:  # noqa: S310 (as above)
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:  # a 4xx or 5xx is an answer too
        if error.code > 599:  # not an HTTP status (a broken proxy): as good as no answer
            raise OSError(f"status {error.code} from POST /orders") from error
        return error.code, error.read()


@app.post("/checkouts/{checkout_id}/order")
def place_order(checkout_id: str) -> JSONResponse:
    """Submit the checkout at most once; answer the order, or what the customer may read."""
    try:
        body = store.begin_submission(checkout_id)  # claimed: nobody else sends it now
    except SubmissionRefused as refused:  # consumed, rejected, in doubt or being sent
        return JSONResponse({"state": str(refused.state)}, status_code=409)
    except InvalidInput:  # not an id a checkout can have (NUL, a lone surrogate...)
        return JSONResponse({"message": "No such checkout."}, status_code=400)
    try:
        status, answer = post_order(body)
    except OSError:  # a timeout or a lost connection: an order may exist
        store.record_no_response(checkout_id, reason="no answer from POST /orders")
        return JSONResponse({"message": IN_DOUBT}, status_code=202)
    try:
        outcome = store.record_response(checkout_id, status, answer)
    except InvalidResponse:  # not the provider's shape: in doubt until looked up
        return JSONResponse({"message": IN_DOUBT}, status_code=202)
    if isinstance(outcome, OrderCreated):
        return JSONResponse({"order": outcome.order.id, "state": str(outcome.order.state)})
    status = 202 if isinstance(outcome, InDoubt) else 409  # in doubt: looked up later
    return JSONResponse({"message": outcome.customer_message}, status_code=status)
