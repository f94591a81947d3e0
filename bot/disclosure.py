"""Statistical disclosure control: which groups' figures may be published beside a total.

One rule for every figure split by group (votes by self-description, the attitude pulse by
self-description and by town): a group is shown only with at least ``SMALL_GROUP`` people,
and never so that the total minus the shown groups leaves 1 to ``SMALL_GROUP - 1`` people
(that rest would be a small group revealed by subtraction). While it would, the smallest
shown group is withheld too (complementary suppression, as statistical offices do it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

SMALL_GROUP = 5


def shown_groups(
    total: int, sizes: Mapping[str, int], order: Sequence[str] = (), threshold: int = SMALL_GROUP
) -> set[str]:
    """The groups whose figures may be published beside ``total``.

    ``sizes`` holds each group's number of people (they add up to ``total``, or less when some
    people are in no group). Of two groups as small, the one later in ``order`` is withheld
    first.
    """

    def rank(group: str) -> int:
        return order.index(group) if group in order else len(order)

    shown = {group for group, size in sizes.items() if size >= threshold}
    while shown and 0 < total - sum(sizes[g] for g in shown) < threshold:
        shown.remove(min(shown, key=lambda g: (sizes[g], -rank(g))))
    return shown
