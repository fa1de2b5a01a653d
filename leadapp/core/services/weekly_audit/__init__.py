"""The weekly audit: a week's figures, the flags they raise, proposed rule changes, and the report.

`run_weekly_audit` is what the Sunday 02:00 cron job and the admins' "Run now" button call. It computes
the figures of the 7 days before `now` (`compute_figures`), raises flags (`flags`), proposes rule changes
(`recommendations`) and stores an `AuditReport` whose Markdown has a narrative (Claude's when
ANTHROPIC_API_KEY is set, the template's otherwise or when Claude fails) followed by the figures'
tables. Proposed changes never apply by themselves: `accept_recommendation` applies one as a new
rules version when an admin accepts it.

Definitions (the report shows exactly these):
- The period is half-open, [period_start, period_end), on each row's `created_at` (UTC).
- Leads: created in the period and not deleted by the consumer. "Classified" leads have a quality score;
  the quality distribution, the spam rate and the low-quality rate are shares of the classified leads.
- Quality buckets by score: 0-2 is [0, 3), 3-4 is [3, 5), 5-6 is [5, 7), 7-8 is [7, 9), 9-10 is [9, 10].
- Low quality: a score below the rules' `low_quality_below` (5 by default).
- Repeated text: the same normalized text (lowercase, every run of non-letters/digits as one space)
  in at least 3 leads. Repeated number: the same phone (its keyed hash) on at least 5 leads. Numbers are
  shown masked (+1•••••••0123) and the report never stores one in clear.
- Keyword hits: how many spam leads each spam keyword fired on, as recorded by the classifier in the
  lead's spam reason ("keyword 'crypto'"); "all caps" and "blocked phone pattern" are counted apart.
- Response rate of a business: of its matches created in the period, those answered (`responded_at`
  set) over those answered or created more than 24 h before the period's end (a newer unanswered match
  is not held against it yet, as in `match.refresh_response_rate`). Top: ≥ 70 %; under 50 %: < 50 %.
- Conversions: recorded in the period (count, total and average job value); conversion rate: of the
  period's leads that got at least one match, the share with a recorded conversion.
- Flags: spam rate > 10 % is critical; low-quality rate > 30 % is high.
- A rate is None when its denominator is 0.

Modules: `figures` (the week's figures), `findings` (flags, proposed rule changes and accepting one),
`report` (the narrative, the Markdown and `run_weekly_audit`), `reading` (listing and opening reports).
"""

from __future__ import annotations

from leadapp.core.services.weekly_audit.figures import (
    AUDIT_PERIOD,
    DISTINCTIVE_MIN_LETTERS,
    DISTINCTIVE_WORDS,
    LIST_LIMIT,
    LOW_RESPONSE_RATE,
    QUALITY_BUCKETS,
    REPEATED_PHONE_MIN,
    REPEATED_TEXT_MIN,
    TEXT_SHOWN_CHARS,
    TOP_RESPONSE_RATE,
    compute_figures,
    normalize_text,
)
from leadapp.core.services.weekly_audit.findings import (
    LOW_QUALITY_RATE_HIGH,
    SPAM_RATE_CRITICAL,
    accept_recommendation,
    apply_change,
    flags,
    recommendations,
)
from leadapp.core.services.weekly_audit.reading import (
    get_report,
    list_reports,
)
from leadapp.core.services.weekly_audit.report import (
    as_plain_text,
    render_markdown,
    run_weekly_audit,
    template_narrative,
)

__all__ = [
    "AUDIT_PERIOD",
    "DISTINCTIVE_MIN_LETTERS",
    "DISTINCTIVE_WORDS",
    "LIST_LIMIT",
    "LOW_QUALITY_RATE_HIGH",
    "LOW_RESPONSE_RATE",
    "QUALITY_BUCKETS",
    "REPEATED_PHONE_MIN",
    "REPEATED_TEXT_MIN",
    "SPAM_RATE_CRITICAL",
    "TEXT_SHOWN_CHARS",
    "TOP_RESPONSE_RATE",
    "accept_recommendation",
    "apply_change",
    "as_plain_text",
    "compute_figures",
    "flags",
    "get_report",
    "list_reports",
    "normalize_text",
    "recommendations",
    "render_markdown",
    "run_weekly_audit",
    "template_narrative",
]
