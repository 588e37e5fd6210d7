"""A Starlette app receiving the provider's webhooks (a FastAPI app mounts the same route)."""

import os

from starlette.applications import Starlette

from order_lifecycle.integrations.starlette import webhook_route
from order_lifecycle.store import open_store
from order_lifecycle.webhooks import Inbox

# One store and one inbox per process serve every request: every store is thread-safe.
inbox = Inbox(
    open_store(os.environ["ORDER_LIFECYCLE_DB"]),
    secrets=os.environ["ORDER_LIFECYCLE_SECRETS"].split(","),
)
app = Starlette(routes=[webhook_route(inbox, path="/webhooks/digital-river")])
