"""The tune evaluation's HTML page: before and after, with intervals, and the gap closed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment

__all__ = ["render_report", "write_report"]

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>parity tune evaluate: {{ task }}</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#111}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem}
th{background:#f3f4f6;text-align:left}.big{font-size:1.6rem;font-weight:600}
.bar{height:.8rem;background:#2563eb}.muted{color:#555}
</style></head><body>
{% set gap = gap_closed %}<h1>Tuned model, proven blind: {{ task }}</h1>
<p class="muted">{{ items }} held-out prompts the tuned model never saw, judged by
<code>{{ judge }}</code>, scored for all three models. Intervals are 95%.
{% if failed %}{{ failed }} answers failed (errors or time-outs): their prompts are left out.
{% endif %}</p>
<p class="big">Share of the base&rarr;teacher gap closed:
{% if gap.value is none %}n/a (the teacher does not beat the base here)
{% else %}{{ "%.0f"|format(gap.value * 100) }}%
{% if gap.low is not none %}<span class="muted">({{ "%.0f"|format(gap.low * 100) }}% to
{{ "%.0f"|format(gap.high * 100) }}%)</span>{% endif %}{% endif %}</p>
<table><tr><th>role</th><th>deployment</th><th>mean score</th><th>95% interval</th><th></th></tr>
{% for role in ["base", "tuned", "teacher"] %}{% set s = scores[role] %}
<tr><td>{{ role }}{% if role == "base" %} (before){% elif role == "tuned" %} (after){% endif %}</td>
<td><code>{{ models[role] }}</code></td>
<td>{% if s %}{{ "%.3f"|format(s.value) }}{% endif %}</td>
<td>{% if s %}{{ "%.3f"|format(s.low) }} &ndash; {{ "%.3f"|format(s.high) }}{% endif %}</td>
<td style="width:12rem">{% if s %}<div class="bar" style="width:{{ (s.value * 100)|round }}%"></div>
{% endif %}</td></tr>{% endfor %}
</table>
<h2>Paired comparisons</h2>
<table><tr><th>a</th><th>b</th><th>n</th><th>a wins</th><th>ties</th><th>b wins</th>
<th>conclusion</th></tr>
{% for p in pairs %}<tr><td><code>{{ p.a }}</code></td><td><code>{{ p.b }}</code></td>
<td>{{ p.n }}</td><td>{{ p.wins }}</td><td>{{ p.ties }}</td><td>{{ p.losses }}</td>
<td>{{ p.conclusion }}</td></tr>{% endfor %}</table>
<p>Answers, verdicts and the gap test's full report:
<a href="{{ gaptest_report }}">{{ gaptest_report }}</a>.
Lineage: <code>{{ lineage }}</code>.</p>
</body></html>
"""


def render_report(summary: dict[str, Any]) -> str:
    """The page for one evaluation summary."""
    env = Environment(autoescape=True)
    return env.from_string(_PAGE).render(**summary)


def write_report(summary: dict[str, Any], path: Path) -> Path:
    """Write the page; its path."""
    path.write_text(render_report(summary), encoding="utf-8")
    return path
