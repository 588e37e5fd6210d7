"""A Starlette app receiving the provider's webhooks (a FastAPI app mounts the same route).

The route only stores each signed delivery (a 2xx means stored); a reconciler, here a
thread of the app with a store of its own, applies what was stored. Several app servers
may share the database: each runs its reconcilers, which take different orders.
"""

import os

from starlette.applications import Starlette

from order_lifecycle.integrations.starlette import reconciler_lifespan, webhook_route
from order_lifecycle.store import open_store
from order_lifecycle.webhooks import Inbox, Reconciler

# One store and one inbox per process serve every request: every store is thread-safe.
inbox = Inbox(
    open_store(os.environ["ORDER_LIFECYCLE_DB"]),
    secrets=os.environ["ORDER_LIFECYCLE_SECRETS"].split(","),
)
reconciler = Reconciler(open_store(os.environ["ORDER_LIFECYCLE_DB"]), idle=0.05)
app = Starlette(
    routes=[webhook_route(inbox, path="/webhooks/digital-river")],
    lifespan=reconciler_lifespan(reconciler),
)
