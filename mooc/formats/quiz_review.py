"""Review policies: what a trainee may see of a graded attempt, and when.

Two things can be shown after grading, besides the trainee's own answers and score:

- the **marks**: which questions were right, partly right or wrong;
- the **key**: the right choices, the accepted answers and the explanations.

The server decides (``review_of`` in mooc/quizzes/attempts.py) and the result page leaves out what is
not allowed: the key never reaches the browser before its policy allows it.
The policies are described for authors in docs/authoring.md ("Review policies").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_POLICY",
    "POLICIES",
    "Review",
    "farming_risk",
    "policy_allows",
    "shows_key_before_last_attempt",
]

# Order: from the most to the least open; every value here is accepted in `review:`.
POLICIES = (
    "after_submit_with_key",  # marks and key after every submit: practice that does not count
    "after_submit",  # marks after every submit, never the key
    "after_pass",  # marks and key once the trainee has passed
    "after_close",  # marks and key once the trainee has passed or has no attempt left
    "after_last_attempt",  # marks and key once the trainee has no attempt left
    "never",  # the score only
)
DEFAULT_POLICY = "after_submit"


@dataclass(frozen=True)
class Review:
    marks: bool = False
    key: bool = False
    # Why the key is withheld (a policy name, or "in_progress"); "" when it is shown.
    withheld_by: str = ""

    def __and__(self, other: Review) -> Review:
        return Review(
            self.marks and other.marks,
            self.key and other.key,
            self.withheld_by or other.withheld_by,
        )


def policy_allows(policy: Any, *, passed: bool, attempts_left: bool) -> Review:
    """What *policy* shows of a graded attempt, given the trainee's state on the quiz.

    *attempts_left*: the trainee could still start an attempt (always true with unlimited
    attempts). An unknown policy shows nothing.
    """
    if policy == "after_submit_with_key":
        return Review(marks=True, key=True)
    if policy == "after_submit":
        return Review(marks=True, key=False, withheld_by=policy)
    if policy == "after_pass":
        opened = passed
    elif policy == "after_close":
        opened = passed or not attempts_left
    elif policy == "after_last_attempt":
        opened = not attempts_left
    else:  # "never", or a value no version of the format wrote
        return Review(withheld_by="never")
    return Review(marks=opened, key=opened, withheld_by="" if opened else policy)


def shows_key_before_last_attempt(settings: Any) -> bool:
    """Whether a trainee can see the key and still make an attempt that counts.

    ``after_pass`` and ``after_close`` show it before the last attempt only to someone who
    has passed already (their completion no longer depends on it), so they do not count.
    """
    attempts = int(getattr(settings, "attempts", 0) or 0)
    return getattr(settings, "review", DEFAULT_POLICY) == "after_submit_with_key" and attempts != 1


def farming_risk(settings: Any, pool: int) -> float | None:
    """The expected share (0-1) of a trainee's last attempt whose key they have already seen,
    when the key is shown before the last attempt; None when it is not.

    Each attempt draws `draw` of the `pool` questions at random, so after k attempts a
    given question has been seen with probability 1 - (1 - draw/pool)^k; a trainee with
    A attempts has seen the keys of A - 1 of them before the last (with unlimited attempts,
    eventually every question).
    """
    if not shows_key_before_last_attempt(settings) or pool <= 0:
        return None
    draw = getattr(settings, "draw", None) or pool
    attempts = int(getattr(settings, "attempts", 0) or 0)
    share = min(1.0, draw / pool)
    if attempts == 0 or share >= 1:
        return 1.0
    return 1 - math.pow(1 - share, attempts - 1)
