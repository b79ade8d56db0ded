"""The SVG charts: well-formed XML whatever the labels, escaped, readable."""

import re

from acceptance import charts
from tests.acceptance.svg import SVG, parse, texts

NASTY = "<script>alert(\"x\")</script> & '社保' ]]> \x00\x07"


def test_a_bar_chart_is_valid_xml_with_escaped_labels():
    svg = charts.bar_chart(
        title=f"标题 {NASTY}",
        labels=[NASTY, "社保中心", "就业中心"],
        values=[3, 0, None],
    )
    root = parse(svg)  # raises on malformed XML
    assert root.tag == f"{SVG}svg"
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert root.find(f"{SVG}title").text.startswith("标题 <script>")
    labels = texts(root)
    assert any(t.startswith('<script>alert("x")') for t in labels)  # the tooltip, unescaped
    assert "社保中心" in "".join(labels)
    assert "—" in labels  # None is drawn as "no data"
    # Two bars drawn (3 and 0) plus the white background.
    assert len(root.findall(f"{SVG}rect")) == 3
    assert "\x00" not in svg and "\x07" not in svg


def test_bar_chart_values_reference_line_and_warnings():
    svg = charts.bar_chart(
        title="准时率",
        labels=["A", "B"],
        values=[0.95, 0.5],
        value_format=charts.percent,
        max_value=1.0,
        reference=0.9,
        warn_if=lambda v: v < 0.9,
    )
    root = parse(svg)
    assert {"95%", "50%"} <= set(texts(root))
    fills = [r.get("fill") for r in root.findall(f"{SVG}rect")][1:]
    assert fills == [charts.BAR, charts.BAR_LOW]
    assert any(line.get("stroke-dasharray") for line in root.findall(f"{SVG}line"))
    assert "A: 95%; B: 50%" in root.find(f"{SVG}desc").text


def test_a_line_chart_is_valid_xml_with_a_legend_and_gaps():
    svg = charts.line_chart(
        title="趋势 <周>",
        x_labels=["11-02", "11-09", "11-16", "11-23"],
        series=[("受理 & 收件", [1, 2, 3, 4]), ("超期", [0, None, 2, 1])],
    )
    root = parse(svg)
    assert root.find(f"{SVG}title").text == "趋势 <周>"
    assert "受理 & 收件" in texts(root)
    groups = root.findall(f"{SVG}g")
    assert len(groups) == 2
    # The gap splits the second series into a lone point and a two-point line.
    assert len(groups[0].findall(f"{SVG}polyline")) == 1
    assert len(groups[1].findall(f"{SVG}polyline")) == 1
    dashes = {line.get("stroke-dasharray") for line in root.iter(f"{SVG}polyline")}
    assert len(dashes) == 2  # told apart without colour


def test_empty_and_single_point_charts_are_still_valid():
    parse(charts.bar_chart(title="空", labels=[], values=[]))
    parse(charts.line_chart(title="空", x_labels=[], series=[]))
    parse(charts.line_chart(title="一点", x_labels=["11-02"], series=[("a", [5])]))
    parse(charts.line_chart(title="零", x_labels=["a", "b"], series=[("a", [0, 0])]))


def test_type_is_large_enough_for_a_projector():
    svg = charts.line_chart(title="t", x_labels=["a", "b"], series=[("s", [1, 2])])
    svg += charts.bar_chart(title="t", labels=["a"], values=[1])
    sizes = [int(size) for size in re.findall(r'font-size="(\d+)"', svg)]
    assert sizes and min(sizes) >= 16


def test_long_labels_are_shortened_with_the_full_text_kept():
    long_label = "非常长的事项名称" * 10
    root = parse(charts.bar_chart(title="t", labels=[long_label], values=[1]))
    label = next(el for el in root.iter(f"{SVG}text") if el.find(f"{SVG}title") is not None)
    assert label.find(f"{SVG}title").text == long_label
    assert "".join(label.itertext()).endswith("…")


def test_nice_axis_maximum():
    assert charts._nice_max(0) == 1
    assert charts._nice_max(7) == 10
    assert charts._nice_max(23) == 25
    assert charts._nice_max(101) == 200


def test_the_count_axis_has_whole_round_steps():
    assert charts._axis(0) == (4.0, 1.0)
    assert charts._axis(3) == (3.0, 1.0)
    assert charts._axis(210) == (300.0, 100.0)
    assert charts._axis(187) == (200.0, 50.0)
    svg = charts.line_chart(title="t", x_labels=["a", "b"], series=[("s", [0, 210])], note="* 注")
    root = parse(svg)
    ticks = [t for t in texts(root) if t.replace(",", "").isdigit()]
    assert ticks == ["0", "100", "200", "300"]
    assert "* 注" in texts(root)
