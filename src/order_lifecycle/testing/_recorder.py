"""The shop's outside world in an integration test: services that record what they are asked.

A :class:`Recorder` stands in for the warehouse, the mailer and the payment provider a
shop's code calls, one method per action kind (``ship``, ``deliver_digitally``,
``notify_customer``, ``capture``, ``confirm_refund``, ``review_fulfilment``,
``respond_to_dispute``), each taking the idempotency key the shop passes on. It knows
what the provider told the shop so far (the machine shows it every genuine delivery
before the shop's endpoint sees it), so it can judge each call as it is made: nothing
shipped or delivered before a delivery reported the order accepted, nothing for an order
blocked or cancelled (or an item cancelled) first, nothing shipped twice, and no
provider code in a customer's text.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from order_lifecycle.lifecycle import ORDER_SPEC, ActionKind, OrderState

from ._responses import FRAUD_CODES, PAYMENT_CODES

__all__ = ["ACCEPTED_OR_LATER", "ENDED", "Effect", "Recorder"]

ENDED = frozenset(str(state) for state in ORDER_SPEC.final_states)
"""The ends of an order for which nothing may be shipped once the provider reported them."""

ACCEPTED_OR_LATER = frozenset(str(s) for s in ORDER_SPEC.only_through(OrderState.ACCEPTED))
"""Order states a delivery reports only after the order was accepted: read off the table."""
_CODE_FIELDS = frozenset({"code", "failureCode"})
_SHIPMENTS = frozenset({ActionKind.SHIP, ActionKind.DELIVER_DIGITALLY})


@attrs.frozen
class Effect:
    """One thing the shop did in the world: which kind, for which order and subject.

    ``subject`` is the item's or charge's id (the text, for a customer notice), ``detail``
    the quantity, amount or text, ``key`` the idempotency key the shop passed (if any).
    """

    kind: ActionKind
    order_id: str
    subject: str
    detail: str
    key: str | None = None


@attrs.define
class _Told:
    """What genuine deliveries reported of one order so far."""

    states: set[str] = attrs.Factory(set)
    cancelled_items: set[str] = attrs.Factory(set)


@attrs.define(repr=False)
class Recorder:
    """A warehouse, mailer and payment provider that record every call and judge it.

    Like a service with idempotency keys, a call with a ``key`` it saw before for the same
    kind does nothing again (and returns the first receipt). :attr:`effects` lists what was
    done, :attr:`violations` what broke an invariant (the machine raises on the first).
    """

    effects: list[Effect] = attrs.field(init=False, factory=list)
    violations: list[str] = attrs.field(init=False, factory=list)
    _told: dict[str, _Told] = attrs.field(init=False, factory=dict)
    _codes: set[str] = attrs.field(
        init=False, factory=lambda: set(PAYMENT_CODES) | set(FRAUD_CODES)
    )
    _receipts: dict[tuple[ActionKind, str], str] = attrs.field(init=False, factory=dict)

    def __repr__(self) -> str:
        return f"<Recorder(effects={len(self.effects)}, violations={len(self.violations)})>"

    # --- what the shop calls -------------------------------------------------------------

    def ship(
        self, order_id: str, item_id: str, quantity: int = 1, *, key: str | None = None
    ) -> str:
        """Ship ``quantity`` units of a physical item; the shipment's receipt."""
        return self._do(ActionKind.SHIP, order_id, item_id, str(quantity), key)

    def deliver_digitally(
        self, order_id: str, item_id: str, quantity: int = 1, *, key: str | None = None
    ) -> str:
        """Deliver a digital item (a download link, a licence key); the receipt."""
        return self._do(ActionKind.DELIVER_DIGITALLY, order_id, item_id, str(quantity), key)

    def notify_customer(self, order_id: str, text: str, *, key: str | None = None) -> str:
        """Send the customer ``text`` about their order; the message's receipt."""
        return self._do(ActionKind.NOTIFY_CUSTOMER, order_id, text, text, key)

    def capture(
        self, order_id: str, charge_id: str, amount: object, *, key: str | None = None
    ) -> str:
        """Ask the provider to capture ``amount`` of a charge; the capture's receipt."""
        return self._do(ActionKind.CAPTURE, order_id, charge_id, str(amount), key)

    def confirm_refund(
        self, order_id: str, charge_id: str, amount: object, *, key: str | None = None
    ) -> str:
        """Follow up a refund of ``amount`` of a charge (and tell the customer); the receipt."""
        return self._do(ActionKind.CONFIRM_REFUND, order_id, charge_id, str(amount), key)

    def review_fulfilment(self, order_id: str, item_id: str, *, key: str | None = None) -> str:
        """Ask a person how to fulfil an item neither physical nor digital; the ticket."""
        return self._do(ActionKind.REVIEW_FULFILMENT, order_id, item_id, "", key)

    def respond_to_dispute(self, order_id: str, *, key: str | None = None) -> str:
        """Send the bank the order's evidence against a dispute; the receipt."""
        return self._do(ActionKind.RESPOND_TO_DISPUTE, order_id, order_id, "", key)

    # --- what the machine tells it -------------------------------------------------------

    def told(self, body: bytes) -> None:
        """A genuine delivery's body, as the provider is about to post it to the shop."""
        try:
            event = json.loads(body)
            obj = event["data"]["object"]
        except (ValueError, KeyError, TypeError):
            return
        self._codes.update(_codes(event))
        if not isinstance(obj, dict) or not isinstance(obj.get("items"), list):
            return  # a charge's event: it reports no order state
        told = self._told.setdefault(str(obj.get("id")), _Told())
        told.states.add(str(obj.get("state")))
        transitions = obj.get("stateTransitions")
        if isinstance(transitions, dict):
            told.states.update(map(str, transitions))
        told.cancelled_items.update(
            str(item.get("id"))
            for item in obj["items"]
            if isinstance(item, dict) and item.get("state") == "cancelled"
        )

    def customer_text_problem(self, text: str) -> str | None:
        """Why ``text`` must not reach a customer (a provider code in it), or ``None``."""
        found = sorted(code for code in self._codes if code and code in text)
        return f"names the provider code {found[0]!r}" if found else None

    # --- the judging ---------------------------------------------------------------------

    def _do(
        self, kind: ActionKind, order_id: str, subject: str, detail: str, key: str | None
    ) -> str:
        if key is not None and (kind, key) in self._receipts:
            return self._receipts[(kind, key)]
        effect = Effect(kind, order_id, subject, detail, key)
        self._judge(effect)
        self.effects.append(effect)
        receipt = f"{kind}-{len(self.effects)}"
        if key is not None:
            self._receipts[(kind, key)] = receipt
        return receipt

    def _judge(self, effect: Effect) -> None:
        told = self._told.get(effect.order_id, _Told())
        what = f"{effect.kind} of {effect.subject!r} for order {effect.order_id!r}"
        if effect.kind in _SHIPMENTS:
            reported = ", ".join(sorted(told.states)) or "nothing"
            if not told.states & ACCEPTED_OR_LATER:
                self._violate(
                    f"{what} before any delivery reported it accepted (so far: {reported})"
                )
            ended = sorted(told.states & ENDED)
            if ended:
                self._violate(f"{what} after a delivery reported the order {ended[0]}")
            if effect.subject in told.cancelled_items:
                self._violate(f"{what} after a delivery reported the item cancelled")
            earlier = [
                e
                for e in self.effects
                if (e.kind, e.order_id, e.subject) == (effect.kind, effect.order_id, effect.subject)
            ]
            if earlier:
                self._violate(f"{what} a second time (keys {earlier[0].key!r}, {effect.key!r})")
        if effect.kind is ActionKind.NOTIFY_CUSTOMER:
            problem = self.customer_text_problem(effect.detail)
            if problem is not None:
                self._violate(f"the customer's text {effect.detail!r} {problem}")

    def _violate(self, message: str) -> None:
        self.violations.append(message)


def _codes(value: Any) -> set[str]:  # noqa: ANN401 (JSON)
    """Every ``code`` and ``failureCode`` in a JSON value, at any depth."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _CODE_FIELDS and isinstance(item, str):
                found.add(item)
            else:
                found |= _codes(item)
    elif isinstance(value, list):
        for item in value:
            found |= _codes(item)
    return found
