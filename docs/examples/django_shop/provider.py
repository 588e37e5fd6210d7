"""The one call to the provider this shop makes itself: ``POST /orders``."""

import json
import urllib.error
import urllib.request

from django.conf import settings

TIMEOUT = 20  # seconds: a submission that takes longer is in doubt, never sent again


def post_order(body: dict[str, str]) -> tuple[int, bytes]:
    """The provider's status and raw body for ``POST /orders`` (OSError: no answer)."""
    request = urllib.request.Request(  # noqa: S310 (the provider's https URL, from settings)
        f"{settings.PROVIDER_URL}/orders",
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {settings.PROVIDER_KEY}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310 (as above)
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:  # a 4xx or 5xx is an answer too
        return error.code, error.read()
