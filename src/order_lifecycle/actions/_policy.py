"""The shop's say in the actions: which items are physical, and the shop's own kinds.

The provider says whether an item is physical with ``productDetails.physical``, but only
in expanded objects (one of its 14 documented order payloads): every other item would need
a person's review. A shop knows its catalogue, so an :class:`ActionPolicy` carries its
classifier, and a store given the policy (``store.action_policy = ...``) derives with it,
inside the transaction of each change. The provider's flag, when present, wins (a
disagreement is logged on the ``order_lifecycle.actions`` logger); ``review_fulfilment``
is asked only when neither decides. The policy also declares the shop's own kinds of
action: its subscriptions to provider events and its listeners to transitions (see
``_subscriptions``), so every process that writes orders or reconciles knows them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Any

import attrs

from order_lifecycle._text import safe_text
from order_lifecycle.exceptions import InvalidInput, WrongType
from order_lifecycle.models import Item

from ._limit import Finished, Hung, TimeLimited
from ._subscriptions import Listener, Subscriptions, check_kind_name, shop_pairs

__all__ = ["SETTLING_TYPES", "ActionPolicy", "Classifier", "Fulfilment"]

_LOG = logging.getLogger("order_lifecycle.actions")

Fulfilment = str | bool
"""How an item is fulfilled: ``"physical"`` (shipped, ``True``) or ``"digital"`` (``False``)."""

Classifier = Callable[[Item], Fulfilment | None]
"""A shop's classifier: from an item (its ``sku``, ``id``...), physical, digital or ``None``."""

_MAX_WITHIN = timedelta(minutes=1)
_NOTE = 300  # characters of a note kept in an action's payload


def _fulfilment(value: object) -> bool | None:
    """``True`` for physical, ``False`` for digital, ``None`` for anything else."""
    if value is True or (type(value) is str and value == "physical"):
        return True
    if value is False or (type(value) is str and value == "digital"):
        return False
    return None


def _classifier(
    value: Classifier | Mapping[str, Fulfilment] | None,
) -> Classifier | Mapping[str, bool] | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return _catalogue(value)
    if not callable(value):
        raise WrongType(
            "classify", "a mapping of SKUs to 'physical' or 'digital', a callable, or None", value
        )
    return value


def _catalogue(value: Mapping[Any, Any]) -> Mapping[str, bool]:
    """A copy of a SKU mapping, each value checked, read-only."""
    try:
        pairs = list(value.items())
    except Exception as error:  # noqa: BLE001 (the shop's mapping: its items() may fail)
        raise InvalidInput(f"classify: the mapping cannot be read: {safe_text(error)}") from None
    checked: dict[str, bool] = {}
    for sku, fulfilment in pairs:
        if type(sku) is not str or not sku:
            raise WrongType("classify's SKUs", "non-empty str", sku)
        physical = _fulfilment(fulfilment)
        if physical is None:
            raise InvalidInput(
                f"classify[{sku!r}] must be 'physical' or 'digital', got {safe_text(fulfilment)!r}."
            )
        checked[sku] = physical
    return MappingProxyType(checked)


SETTLING_TYPES = frozenset({"refund.complete", "refund.failed"})
"""The provider's events that settle an action of the table (``confirm_refund``)."""


def _subscriptions(value: object) -> Subscriptions:
    return Subscriptions.of(value)


def _listeners(value: object) -> Mapping[str, Listener]:
    if value is None:
        return MappingProxyType({})
    pairs = shop_pairs(value, "listen", "a mapping of kind names to listeners (on(...))")
    checked: dict[str, Listener] = {}
    for name, listener in pairs:
        check_kind_name(name, "listen's name")
        if not isinstance(listener, Listener):
            raise WrongType(f"listen[{name!r}]", "a listener, as on(...) makes", listener)
        checked[name] = listener
    return MappingProxyType(checked)


def _within(value: timedelta) -> timedelta:
    if not isinstance(value, timedelta) or not timedelta(0) < value <= _MAX_WITHIN:
        raise WrongType("classify_within", "a timedelta above 0, up to a minute", value)
    return value


@attrs.frozen(repr=False, eq=False)
class ActionPolicy:
    """What a store derives actions with, beyond the order table: the shop's classifier.

    ``classify`` is a mapping of SKUs (an item's ``sku``: the provider's ``skuId``) to
    ``"physical"`` or ``"digital"``, or a callable taking the :class:`~order_lifecycle.Item`
    and returning one of them (or ``True`` / ``False``), or ``None`` when it cannot say.
    It is asked for every item an acceptance creates an action for; a callable runs within
    ``classify_within`` (default a second). A classifier that raises, returns anything
    else or takes longer decides nothing: the item's ``review_fulfilment`` payload says
    why (``undecided``), and it is logged. One action per item either way, never two.

    ``subscribe`` maps the shop's kinds to the provider event types each takes (a name,
    or a prefix ending in ``.*``; one or a list): each reconciled delivery of one becomes
    an action of that kind (an :class:`~order_lifecycle.actions.EventReceived`).
    ``listen`` maps the shop's kinds to listeners (:func:`~order_lifecycle.actions.on`):
    each committed transition one hears becomes an action of that kind (a
    :class:`~order_lifecycle.actions.Transitioned`). Both are written in the transaction
    that records the delivery or the change, so each is handed to the worker at least once.

    Raises (at construction):
        InvalidInput: a classifier neither a mapping nor callable, a mapping whose values
            are not ``"physical"`` or ``"digital"``, a ``classify_within`` not above 0 or
            over a minute; a subscription pattern matching no documented event type, a
            listener that is not one, a kind name that is a table kind, not a plain name,
            or given twice.

    """

    classify: Classifier | Mapping[str, bool] | None = attrs.field(
        default=None, converter=_classifier
    )
    classify_within: timedelta = attrs.field(default=timedelta(seconds=1), converter=_within)
    subscribe: Subscriptions = attrs.field(default=None, converter=_subscriptions)
    listen: Mapping[str, Listener] = attrs.field(default=None, converter=_listeners)
    _runner: TimeLimited = attrs.field(
        init=False, factory=lambda: TimeLimited("order_lifecycle classifier")
    )

    def __attrs_post_init__(self) -> None:
        both = sorted(set(self.subscribe.patterns) & set(self.listen))
        if both:
            raise InvalidInput(
                f"{', '.join(map(repr, both))} names both a subscription and a listener: "
                "give each kind its own name."
            )

    def __repr__(self) -> str:
        if self.classify is None:
            classify = "None"
        elif isinstance(self.classify, Mapping):
            classify = f"<{len(self.classify)} SKUs>"
        else:
            classify = getattr(self.classify, "__name__", "a callable")
        kinds = "".join(
            f", {name}=[{', '.join(values)}]"
            for name, values in (("subscribe", self.subscribe.patterns), ("listen", self.listen))
            if values
        )
        return f"<ActionPolicy(classify={classify}{kinds})>"

    @property
    def kinds(self) -> frozenset[str]:
        """The shop's own kinds of action: its subscriptions' and listeners' names."""
        return frozenset(self.subscribe.patterns) | frozenset(self.listen)

    def delivers(self, event_type: str) -> bool:
        """Whether a delivery of ``event_type`` reaches the outbox (subscribed, or settling)."""
        return event_type in SETTLING_TYPES or bool(self.subscribe.kinds_for(event_type))

    def fulfilment(self, item: Item, order_id: str) -> tuple[bool | None, dict[str, str]]:
        """Whether ``item`` is physical (``None``: undecided), and what to note in its payload.

        The provider's flag wins over the classifier; a disagreement is logged and noted
        (``classifier_says``). Undecided, the note says why (``undecided``).
        """
        if self.classify is None:
            return item.physical, {}
        says, why = self._ask(item, order_id)
        if item.physical is not None:
            if says is None or says is item.physical:
                return item.physical, {}
            _LOG.warning(
                "item %r of order %r: the provider says %s, the shop's classifier %s; "
                "the provider's flag wins",
                item.id, order_id, _word(item.physical), _word(says),
            )  # fmt: skip
            return item.physical, {"classifier_says": _word(says)}
        if says is not None:
            return says, {"decided_by": "classifier"}
        return None, {"undecided": why[:_NOTE]}

    def _ask(self, item: Item, order_id: str) -> tuple[bool | None, str]:
        """What the classifier says of ``item``, and why it said nothing when it did not."""
        classify = self.classify
        if isinstance(classify, Mapping):
            if item.sku is None:
                return None, "the provider sent no productDetails.physical and no SKU"
            found = classify.get(item.sku)
            if found is None:
                return None, f"SKU {item.sku!r} is not in the shop's catalogue"
            return found, ""
        assert classify is not None  # noqa: S101 (fulfilment() returned early for None)
        outcome = self._runner.call(lambda: classify(item), self.classify_within.total_seconds())
        if isinstance(outcome, Finished):
            says = _fulfilment(outcome.value)
            if says is not None or outcome.value is None:
                return says, "the shop's classifier did not decide (it returned None)"
            why = (
                f"the shop's classifier returned {safe_text(outcome.value, 80)!r} "
                f"({type(outcome.value).__name__}), not 'physical', 'digital' or None"
            )
        elif isinstance(outcome, Hung):
            why = f"the shop's classifier {outcome.why}"
        else:
            why = f"the shop's classifier raised {safe_text(outcome.error, 200)}"
        _LOG.warning("item %r of order %r: %s; left for review", item.id, order_id, why)
        return None, why


def _word(physical: bool) -> str:  # noqa: FBT001 (a flag in, its word out)
    return "physical" if physical else "digital"


DEFAULT_POLICY = ActionPolicy()
"""The policy of a store given none: the provider's flag alone decides."""
