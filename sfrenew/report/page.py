"""The report page: one self-contained HTML file, plotly's JavaScript inlined (no CDN).

Plotly is used for the charts because its JavaScript ships inside the Python package
(``plotly.offline.get_plotlyjs()``), so the page opens offline with nothing fetched.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from decimal import Decimal

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from sfrenew.core.analytics import BookFigures, retention

RISK_ORDER = ("High", "Medium", "Low", "(none)")
RISK_COLOURS = {"High": "#d62728", "Medium": "#ff7f0e", "Low": "#2ca02c", "(none)": "#9e9e9e"}
CHART_IDS = ("atr-by-month", "retention-waterfall", "on-time-rate", "forecast",
             "pipeline")


def _f(value: Decimal) -> float:
    return float(value)


def _percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{value * 100:.2f} %"


def _money(value: Decimal, currency: str) -> str:
    return f"{value:,.2f} {currency}"


def _atr_chart(figures: BookFigures) -> go.Figure:
    by_risk = figures.atr_by["risk"]
    months = list(by_risk)
    levels = [lvl for lvl in RISK_ORDER if any(lvl in by_risk[m] for m in months)]
    levels += sorted({k for m in months for k in by_risk[m]} - set(levels))
    fig = go.Figure([go.Bar(name=lvl, x=months, marker_color=RISK_COLOURS.get(lvl),
                            y=[_f(by_risk[m].get(lvl, Decimal(0))) for m in months])
                     for lvl in levels])
    fig.update_layout(barmode="stack", title=f"Available to renew by month and risk "
                      f"({figures.currency})", xaxis_type="category")
    return fig


def _waterfall(figures: BookFigures) -> go.Figure:
    r = retention(figures.outcomes)
    steps = [("Start ARR", r.start, "absolute"), ("Churn", -r.churn, "relative"),
             ("Contraction", -r.contraction, "relative"), ("Uplift", r.uplift, "relative"),
             ("Expansion", r.expansion, "relative"), ("End ARR", r.end, "total")]
    fig = go.Figure(go.Waterfall(x=[s[0] for s in steps], y=[_f(s[1]) for s in steps],
                                 measure=[s[2] for s in steps]))
    fig.update_layout(title=(
        f"Retention of every closed renewal ({figures.currency}): GRR {_percent(r.grr)}, "
        f"NRR {_percent(r.nrr)}; excluding escalators GRR "
        f"{_percent(r.grr_excluding_escalators)}, NRR "
        f"{_percent(r.nrr_excluding_escalators)}"), title_font_size=13)
    return fig


def _on_time_chart(figures: BookFigures) -> go.Figure:
    months = [m for m, r in figures.on_time.items() if r.rate is not None]
    fig = go.Figure(go.Bar(x=months, y=[_f(figures.on_time[m].rate or Decimal(0)) * 100
                                        for m in months], name="on time %"))
    fig.update_layout(title="On-time renewal rate by month (%)", xaxis_type="category",
                      yaxis_range=[0, 100])
    return fig


def _forecast_chart(figures: BookFigures) -> go.Figure:
    if figures.accuracy:
        rows = sorted(figures.accuracy, key=lambda a: -a.weeks_out)
        x = [f"{a.period} · {a.weeks_out} wk" for a in rows]
        fig = go.Figure([go.Bar(name="forecast (Closed + Commit)", x=x,
                                y=[_f(a.forecast) for a in rows]),
                         go.Bar(name="actual (won)", x=x, y=[_f(a.actual) for a in rows])])
        fig.update_layout(barmode="group", title="Forecast vs actual by weeks out")
        return fig
    periods = sorted({r.period for r in figures.snapshot})
    categories = [c for c in ("Closed", "Commit", "Best Case", "Pipeline", "Omitted")
                  if any(r.category == c for r in figures.snapshot)]
    value = {(r.period, r.category): r.arr for r in figures.snapshot}
    fig = go.Figure([go.Bar(name=c, x=periods,
                            y=[_f(value.get((p, c), Decimal(0))) for p in periods])
                     for c in categories])
    fig.update_layout(barmode="stack", xaxis_type="category", title=(
        f"Forecast by period as of {figures.today} ({figures.currency}); forecast vs actual "
        f"by weeks out appears once weekly snapshots are stored"), title_font_size=13)
    return fig


def _pipeline_chart(figures: BookFigures) -> go.Figure:
    x = [b.bucket for b in figures.pipeline]
    fig = go.Figure([
        go.Bar(name="renewal ARR", x=x, y=[_f(b.arr - b.at_risk_arr) for b in figures.pipeline]),
        go.Bar(name="at risk (High)", x=x, y=[_f(b.at_risk_arr) for b in figures.pipeline])])
    fig.update_layout(barmode="stack", title=f"Open renewals by T-minus bucket "
                      f"({figures.currency})", xaxis_type="category")
    return fig


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_page(figures: BookFigures, *, title: str = "sfrenew renewal analytics") -> str:
    """The whole page as one HTML string (plotly's JavaScript inlined once)."""
    charts = (_atr_chart, _waterfall, _on_time_chart, _forecast_chart, _pipeline_chart)
    divs = "\n".join(
        f'<section class="chart">{build(figures).to_html(full_html=False, include_plotlyjs=False, div_id=div_id)}</section>'  # noqa: E501
        for build, div_id in zip(charts, CHART_IDS, strict=True))
    cur = figures.currency
    retention_rows = [(p, r["all"].renewals, _money(r["all"].start, cur), _percent(r["all"].grr),
                       _percent(r["all"].nrr), _percent(r["all"].grr_excluding_escalators),
                       _percent(r["all"].nrr_excluding_escalators))
                      for p, r in figures.retention.items()]
    tables = (
        "<h2>GRR and NRR by month</h2>" + _table(
            ("period", "closed", "start ARR", "GRR", "NRR", "GRR excl. escalators",
             "NRR excl. escalators"), retention_rows)
        + "<h2>At-risk renewals</h2>" + _table(
            ("account", "due", "days", "risk", "renewal ARR", "owner"),
            [(a.account, a.due, a.days_to_due, a.risk_level or "", _money(a.arr, cur),
              a.owner or "") for a in figures.at_risk])
        + "<h2>Churn by loss reason</h2>" + _table(
            ("reason", "churned ARR"),
            [(k, _money(v, cur)) for k, v in figures.churn_by_reason.items()]))
    problems = "".join(f"<li>{html.escape(p)}</li>" for p in figures.problems)
    notes = f"<h2>Left out</h2><ul>{problems}</ul>" if problems else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:1.5em}}section.chart{{max-width:1100px}}
table{{border-collapse:collapse;margin-bottom:1em}}td,th{{border:1px solid #ccc;padding:2px 8px;
text-align:right}}</style>
<script>/* every script error and console.error, for a reader and the render test */
window.sfrenewErrors=[];window.addEventListener("error",function(e){{
window.sfrenewErrors.push(String(e.message));
document.documentElement.setAttribute("data-errors",window.sfrenewErrors.join(" | "))}});
(function(){{var o=console.error;console.error=function(){{
window.sfrenewErrors.push(Array.prototype.join.call(arguments," "));
document.documentElement.setAttribute("data-errors",window.sfrenewErrors.join(" | "));
return o.apply(console,arguments)}}}})();</script>
<script type="text/javascript">{get_plotlyjs()}</script></head>
<body><h1>{html.escape(title)}</h1>
<p>As of {figures.today}, in {html.escape(cur)}, by {figures.grain.value} of the contract end
date. Definitions: docs/analytics.md.</p>
{divs}
{tables}{notes}
</body></html>
"""
