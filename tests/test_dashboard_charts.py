"""The dashboard's server-side charts and its CSV/XLSX exports, on hand-made reports (no
database): bars as tall as their values, labels that do not overlap at phone width, tenant text
escaped inside the SVG, gaps in a line, and downloads with the same numbers (formula text
neutralised in CSV, numbers as numbers in XLSX)."""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import date
from decimal import Decimal
from xml.etree import ElementTree

import openpyxl

from recaudo.core.workspace.values import (
    AgingBucket,
    AmountBy,
    KpiFilters,
    KpiReport,
    SeriesPoint,
)
from recaudo.web import charts
from recaudo.web.backoffice import dashboard_export as export

SVG = "{http://www.w3.org/2000/svg}"


def report(stage: str = "Recordatorio amable") -> KpiReport:
    at = date(2026, 12, 1)
    aging = (
        AgingBucket("current", "Al corriente", 0, 0, 500_000, 5),
        AgingBucket("1_30", "1–30 días", 1, 30, 250_050, 3),
        AgingBucket("31_60", "31–60 días", 31, 60, 0, 0),
        AgingBucket("61_90", "61–90 días", 61, 90, 100_000, 1),
        AgingBucket("90_plus", "Más de 90 días", 91, None, 1_000_000, 2),
    )
    return KpiReport(
        currency="MXN",
        filters=KpiFilters(at=at, start=date(2026, 9, 3), end=at),
        open_balance=1_850_050,
        overdue_balance=1_350_050,
        dso=Decimal("42.5"),
        cei=Decimal("0.875"),
        average_days_delinquent=Decimal("17.25"),
        promise_kept_rate=None,
        promises_due=0,
        promises_kept=0,
        auto_reconciled_share=Decimal("0.5"),
        aging=aging,
        recovered_by_stage=(AmountBy("s1", stage, 123_456, 4),),
        recovered_by_channel=(AmountBy("email", "Correo", 99_900, 2),),
        dso_trend=tuple(
            SeriesPoint(date(2026, m, 1), {"dso": None if m == 5 else Decimal(30 + m)})
            for m in range(1, 13)
        ),
        weekly=tuple(
            SeriesPoint(
                date(2026, 9, 7 + 7 * i) if i < 3 else date(2026, 10, i),
                {"due": 10_000 * (i + 1), "collected": 5_000 * i},
            )
            for i in range(12)
        ),
    )


def tick(value: float) -> str:
    return charts.compact("es_MX")(value)


def parse(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)


def test_bars_are_as_tall_as_their_values_and_named_for_screen_readers() -> None:
    bars = [charts.Bar(b.label, b.amount / 100, f"${b.amount / 100:,.2f}") for b in report().aging]
    root = parse(charts.bar_chart(bars, chart_id="c", title="Antigüedad", desc="Saldo", tick=tick))
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c-title c-desc"
    assert root.get("viewBox") == "0 0 320 200" and root.get("width") == "100%"
    assert root.find(f"{SVG}title").text == "Antigüedad"  # type: ignore[union-attr]
    rects = root.findall(f"{SVG}rect")
    heights = [float(r.get("height", "0")) for r in rects]
    assert heights[2] == 0 and heights[4] == max(heights)
    assert abs(heights[0] / heights[4] - 0.5) < 0.01  # 5,000 against 10,000
    tips = [r.find(f"{SVG}title").text for r in rects]  # type: ignore[union-attr]
    assert tips[1] == "1–30 días: $2,500.50"


def test_tenant_text_is_escaped_inside_the_svg() -> None:
    bars = [charts.Bar("<script>alert(1)</script>", 5, "5")]
    svg = str(charts.bar_chart(bars, chart_id="x", title="<b>t</b>", desc="d & e", tick=tick))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "<b>" not in svg
    parse(svg)  # still well-formed


def test_labels_are_thinned_so_they_never_overlap() -> None:
    labels = [f"{d} dic" for d in range(1, 13)]
    pairs = [charts.Pair(label, 10, 5, "10", "5") for label in labels]
    root = parse(
        charts.paired_bar_chart(
            pairs, chart_id="w", title="t", desc="d", tick=tick, series=("Por cobrar", "Cobrado")
        )
    )
    bottom = [t for t in root.findall(f"{SVG}text") if float(t.get("y", "0")) > 180]
    xs = [float(t.get("x", "0")) for t in bottom]
    assert 2 <= len(bottom) < 12
    widest = max(len(t.text or "") for t in bottom) * charts.CHAR
    assert all(b - a >= widest for a, b in itertools.pairwise(xs))
    assert len(root.findall(f"{SVG}rect")) == 24 + 2  # two bars a week, two legend swatches
    assert {"Por cobrar", "Cobrado"} <= {t.text for t in root.findall(f"{SVG}text")}


def test_a_month_without_value_breaks_the_line() -> None:
    points = [
        charts.Point(p.period.strftime("%b"), p.values["dso"], str(p.values["dso"]))  # type: ignore[arg-type]
        for p in report().dso_trend
    ]
    root = parse(charts.line_chart(points, chart_id="d", title="DSO", desc="d", tick=str))
    assert len(root.findall(f"{SVG}circle")) == 11
    lines = root.findall(f"{SVG}polyline")
    assert [len(p.get("points", "").split()) for p in lines] == [4, 7]


def test_an_empty_chart_still_draws() -> None:
    root = parse(charts.line_chart([], chart_id="e", title="DSO", desc="d", tick=str))
    assert root.findall(f"{SVG}circle") == [] and root.get("role") == "img"
    zero = [charts.Bar("a", 0, "0"), charts.Bar("b", 0, "0")]
    root = parse(charts.bar_chart(zero, chart_id="z", title="t", desc="d", tick=tick))
    assert [r.get("height") for r in root.findall(f"{SVG}rect")] == ["0.0", "0.0"]
    assert charts.nice_max(0) == 1 and charts.nice_max(7_300) == 10_000
    assert charts.nice_max(180) == 200 and charts.nice_max(2_400) == 2_500


def gettext(text: str) -> str:
    return text


def csv_rows(data: export.Table) -> list[list[str]]:
    return list(csv.reader(io.StringIO(export.to_csv(data).decode("utf-8-sig"))))


def test_csv_has_the_report_numbers_in_major_units_and_neutralises_formulas() -> None:
    data = export.table(report(stage='=HYPERLINK("http://x")'), "stages", gettext)
    assert export.to_csv(data).decode("utf-8").startswith("\ufeff")
    rows = csv_rows(data)
    assert rows[0] == ["Etapa", "Importe", "Moneda", "Pagos"]
    assert rows[1] == ['\'=HYPERLINK("http://x")', "1234.56", "MXN", "4"]
    for bad in ("+1", "-2", "@SUM(A1)", "\tx"):
        assert export.neutralise(bad) == "'" + bad
    assert export.neutralise("Correo") == "Correo"

    aging = csv_rows(export.table(report(), "aging", gettext))
    assert aging[2] == ["1–30 días", "1", "30", "2500.50", "MXN", "3"]
    assert aging[5][2] == ""  # 90+ has no upper bound

    kpis = {r[0]: r for r in csv_rows(export.table(report(), "kpis", gettext))}
    assert kpis["dso"][2] == "42.5" and kpis["cei"][2] == "0.875"
    assert kpis["promise_kept_rate"][2] == ""  # None stays empty, not 0
    assert kpis["open_balance"][2:] == ["18500.50", "MXN", "MXN"]


def test_xlsx_has_numbers_as_numbers() -> None:
    data = export.table(report(stage="-1+2"), "stages", gettext)
    book = openpyxl.load_workbook(io.BytesIO(export.to_xlsx(data, "stages")))
    ws = book.active
    assert ws is not None
    assert [c.value for c in ws[1]] == ["Etapa", "Importe", "Moneda", "Pagos"]
    assert [c.value for c in ws[2]] == ["-1+2", 1234.56, "MXN", 4]
    assert ws["A2"].data_type == "s"  # a string, not a formula

    kpis = openpyxl.load_workbook(
        io.BytesIO(export.to_xlsx(export.table(report(), "kpis", gettext), "kpis"))
    ).active
    assert kpis is not None
    values = {row[0].value: row[2] for row in kpis.iter_rows(min_row=2)}
    assert values["cei"].value == 0.875 and values["cei"].number_format == "0.0%"
    assert values["open_balance"].value == 18500.5
    assert values["promise_kept_rate"].value is None

    weekly = openpyxl.load_workbook(
        io.BytesIO(export.to_xlsx(export.table(report(), "weekly", gettext), "weekly"))
    ).active
    assert weekly is not None
    assert weekly["A2"].value.date() == date(2026, 9, 7)  # type: ignore[union-attr]
    assert weekly["B3"].value == 200.0 and weekly["C3"].value == 50.0


def test_download_names_are_safe() -> None:
    name = export.filename('a"b/../c', "aging", date(2026, 1, 1), date(2026, 3, 31), "csv")
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.csv", name), name
    assert name == "indicadores-a-b-c-aging-2026-01-01_2026-03-31.csv"
