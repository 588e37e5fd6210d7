"""``order-lifecycle send``: post the provider's signed events to a running endpoint.

The events are a scripted life of one order (see :func:`order_lifecycle.sandbox.plan_life`):
event types, each with the provider's steps before it, or named lives. They are laid out
so that the last was created a moment ago, then posted (in order, or shuffled; with
redeliveries) and signed as each is sent, as the provider signs. A delivery answered with
anything but a 2xx is posted again after the others, up to ``--retries`` rounds, as the
provider retries. Each answer is printed: status, time, body.
"""

from __future__ import annotations

import argparse
import random
import uuid
from datetime import UTC, datetime, timedelta

from order_lifecycle.sandbox import (
    EVENT_TYPES,
    LIVES,
    PlannedEvent,
    check_url,
    deliver,
    expand,
    new_order_id,
    plan_life,
)

from ._args import bounded, checked, number, plain_id, without_password
from ._output import Output, clean
from ._secrets import add_secret_argument, signing_secret

__all__ = ["add_parser", "run"]

_STEP = timedelta(seconds=1)
_SHOWN_BODY = 300  # characters of an answer's body printed


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``send`` command's arguments."""
    send = commands.add_parser(
        "send",
        help="post the provider's signed events (types or whole lives) to a running endpoint",
        description=(
            "Post the provider's events for one order to URL, signed with the first secret "
            "of ORDER_LIFECYCLE_SECRETS, and print each answer. EVENT is an event type (the "
            "provider's steps before it are sent too: order.fulfilled on a new order sends "
            "order.accepted first) or life:NAME. A delivery answered with anything but a 2xx "
            "is posted again after the others. Exit status 1 unless every delivery ended 2xx."
        ),
        epilog=(
            f"event types: {', '.join(EVENT_TYPES)}. lives: "
            + "; ".join(f"life:{name} ({', '.join(types)})" for name, types in LIVES.items())
        ),
    )
    send.add_argument(
        "url", type=checked(check_url), metavar="URL", help="the shop's webhook endpoint"
    )
    send.add_argument(
        "events",
        nargs="+",
        type=checked(lambda token: expand([token])),
        metavar="EVENT",
        help="an event type or life:NAME",
    )
    send.add_argument("--order", type=plain_id, help="the order id (default: a fresh one)")
    send.add_argument(
        "--checkout", type=plain_id, help="the checkout id the order names (chk-ORDER)"
    )
    send.add_argument("--shuffle", action="store_true", help="post in a random order")
    send.add_argument(
        "--duplicate",
        type=bounded(0, 1000),
        default=0,
        metavar="N",
        help="redeliver N events picked at random (signed again when sent)",
    )
    send.add_argument(
        "--seed", type=bounded(0, 2**63 - 1), help="the seed of --shuffle and --duplicate"
    )
    send.add_argument(
        "--retries",
        type=bounded(0, 10),
        default=3,
        metavar="N",
        help="rounds of posting again what was not answered 2xx (default 3)",
    )
    send.add_argument(
        "--timeout",
        type=number(0.1, 300),
        default=10.0,
        metavar="SECONDS",
        help="how long to wait for each answer (default 10)",
    )
    add_secret_argument(send)


def run(args: argparse.Namespace, out: Output) -> int:
    """Post the events; exit status 1 unless every delivery was finally answered 2xx."""
    secret = signing_secret(args.secret)
    order_id = args.order or new_order_id()
    now = datetime.now(UTC)
    prefix = f"evt-{uuid.uuid4().hex[:12]}"

    def laid_out(created: datetime) -> tuple[PlannedEvent, ...]:
        plan = plan_life(
            order_id,
            args.events,
            created=created,
            step=_STEP,
            event_prefix=prefix,
            checkout_id=args.checkout,
        )
        return plan.events

    drafted = laid_out(now)
    events = laid_out(now - (drafted[-1].created - now))  # the last one created just now
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    chance = random.Random(seed)  # noqa: S311 (an order to post in, not a secret)
    deliveries = list(events) + [chance.choice(events) for _ in range(args.duplicate)]
    if args.shuffle:
        chance.shuffle(deliveries)
    how = ", shuffled" if args.shuffle else ""
    if args.duplicate:
        how += f", {args.duplicate} redelivered"
    seeded = f" (--seed {seed})" if args.shuffle or args.duplicate else ""
    noun = "event" if len(events) == 1 else "events"
    out.line(f"order {order_id}: {len(events)} {noun}{how}{seeded} to {without_password(args.url)}")
    pending, failed = deliveries, []
    for round_ in range(args.retries + 1):
        if round_:
            out.line(f"again, as the provider retries ({round_} of {args.retries}):")
        failed = [d for d in pending if not _post(args.url, d, secret, args.timeout, out)]
        if not failed:
            return 0
        pending = failed
    many = "deliveries were" if len(failed) > 1 else "delivery was"
    out.line(f"{len(failed)} {many} never answered with a 2xx.")
    return 1


def _post(url: str, event: PlannedEvent, secret: str, timeout: float, out: Output) -> bool:
    """Post one event and print the answer; whether it was a 2xx."""
    answer = deliver(url, event.body, secret, timeout=timeout)
    took = f"{answer.seconds * 1000:.0f} ms"
    if answer.status is None:
        out.line(f"{event.type} {event.id} -> no answer after {took}: {answer.error}")
        return False
    body = answer.body.decode("utf-8", "replace")
    body = " ".join(body.split())
    if len(body) > _SHOWN_BODY:
        body = f"{body[:_SHOWN_BODY]}..."
    out.line(f"{event.type} {event.id} -> {answer.status} in {took}: {clean(body)}")
    return answer.ok
