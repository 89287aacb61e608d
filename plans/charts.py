"""Server-rendered SVG charts of a month's usage per day (pygal, no JavaScript, no CDN)."""

from datetime import date

import pygal
from pygal.etree import etree
from pygal.style import Style

STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#d9dee3",
    colors=("#2563eb", "#16a34a", "#c2410c", "#7c3aed"),
    font_family="system-ui, sans-serif",
)


def _chart(chart_class, title: str, month: date, days: list[dict], **config):
    chart = chart_class(
        title=title,
        style=STYLE,
        js=[],  # pygal's tooltips script would come from a CDN: none
        width=800,
        height=360,
        x_labels=[str(d["date"].day) for d in days],
        x_title=f"Day of {month:%B %Y}",
        show_minor_x_labels=False,
        x_labels_major_every=5,
        legend_at_bottom=True,
        truncate_legend=-1,
        **config,
    )
    return chart


def _svg(chart) -> bytes:
    """The chart without pygal's inline config script: the picture needs no JavaScript."""
    tree = chart.render_tree()
    for parent in list(tree.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return etree.tostring(tree, encoding="utf-8")


def ai_chart_svg(month: date, days: list[dict]) -> bytes:
    chart = _chart(pygal.Line, f"AI use per day, {month:%B %Y}", month, days, dots_size=2)
    chart.add("Tokens (input + output)", [d["input_tokens"] + d["output_tokens"] for d in days])
    # Unpriced calls have no cost to plot: the line shows the known cost and says so.
    unpriced = sum(d["unpriced_calls"] for d in days)
    cost_label = "Cost (USD, right axis)"
    if unpriced:
        cost_label = (
            f"Known cost (USD, right axis; {unpriced} call{'s' * (unpriced != 1)} had no price)"
        )
    chart.add(cost_label, [float(d["cost_usd"]) for d in days], secondary=True)
    return _svg(chart)


def messages_chart_svg(month: date, days: list[dict]) -> bytes:
    chart = _chart(pygal.Bar, f"WhatsApp messages per day, {month:%B %Y}", month, days)
    chart.add("Sent", [d["sent"] for d in days])
    chart.add("Delivered", [d["delivered"] for d in days])
    return _svg(chart)
