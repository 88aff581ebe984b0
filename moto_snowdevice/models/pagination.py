"""Pages of a listing: position-based tokens, so a page costs O(page) and never a rescan."""

import base64
import bisect
import zlib
from collections.abc import Callable, Sequence
from typing import Any

from ..exceptions import ValidationException


class _Pages:
    """Opaque page tokens: a position in a stable order, bound to the listing that issued it."""

    @staticmethod
    def _scope(*parts: Any) -> int:
        return zlib.crc32("|".join(str(part) for part in parts).encode())

    @classmethod
    def start(cls, token: str | None, *scope: Any) -> int:
        if token is None:
            return 0
        try:
            position, checksum = base64.b64decode(token, validate=True).decode().split(":")
            if int(checksum) != cls._scope(*scope) or int(position) < 0:
                raise ValueError
            return int(position)
        except ValueError:
            raise ValidationException(f"Invalid nextToken: {token}") from None

    @classmethod
    def token(cls, position: int, *scope: Any) -> str:
        return base64.b64encode(f"{position}:{cls._scope(*scope)}".encode()).decode()


def paginate_positions(
    items: Sequence[Any],
    positions: Sequence[int],
    max_results: int | None,
    next_token: str | None,
    *scope: Any,
) -> tuple[list[Any], str | None]:
    """One page of the `items` at `positions` (ascending), with the same tokens `paginate` gives for a filter."""
    start = _Pages.start(next_token, *scope)
    limit = max_results or 100
    first = bisect.bisect_left(positions, start)
    chosen = positions[first : first + limit]
    more = first + limit < len(positions)
    return [items[position] for position in chosen], _Pages.token(chosen[-1] + 1, *scope) if more else None


def paginate(
    items: Sequence[Any],
    keep: Callable[[Any], bool] | None,
    max_results: int | None,
    next_token: str | None,
    *scope: Any,
) -> tuple[list[Any], str | None]:
    """One page of `items` (a sequence that only grows at its end) and the token for the next one.

    The token holds the position to go on from, so a page costs O(page), never a rescan.
    """
    position = _Pages.start(next_token, *scope)
    limit = max_results or 100
    page: list[Any]
    if keep is None:
        page = list(items[position : position + limit])
        position += len(page)
        more = position < len(items)
    else:
        page = []
        while position < len(items) and len(page) < limit:
            item = items[position]
            position += 1
            if keep(item):
                page.append(item)
        # Looks ahead only until the next kept item
        more = any(keep(items[index]) for index in range(position, len(items)))
    return page, _Pages.token(position, *scope) if more else None
