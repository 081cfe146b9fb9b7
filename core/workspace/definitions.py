"""What each KPI of the workspace means, in the words staff read next to it.

The dashboard shows these one click away from each figure and docs/kpis.md says the same, so a
number never comes without its definition. Texts are Spanish (the source language); their English
translations are in ``core/messaging/locale/en/LC_MESSAGES/kpis.po`` and the page passes them
through ``_()``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Definition:
    key: str
    title: str  # the KPI's name
    definition: str  # what it measures and how to read it
    formula: str  # how it is computed, in words and symbols


_ALL = (
    Definition(
        "dso",
        "DSO (días de venta pendientes de cobro)",
        "Cuántos días de ventas están todavía por cobrar al final del periodo. Menos es mejor.",
        "Cuentas por cobrar al final del periodo ÷ ventas a crédito del periodo × días del "
        "periodo. Ventas: total de las facturas no anuladas emitidas en el periodo.",
    ),
    Definition(
        "cei",
        "CEI (índice de efectividad de cobranza)",
        "Qué parte de lo que se podía cobrar en el periodo se cobró. 100 % es cobrarlo todo.",
        "(Cuentas por cobrar al inicio + ventas − cuentas por cobrar al final) ÷ (cuentas por "
        "cobrar al inicio + ventas − cuentas por cobrar al corriente al final).",
    ),
    Definition(
        "aging",
        "Antigüedad de saldos",
        "El saldo pendiente a la fecha de corte, repartido por días de atraso desde el "
        "vencimiento. Los tramos suman el saldo pendiente total.",
        "Días de atraso = fecha de corte − fecha de vencimiento; 0 o menos es «al corriente». "
        "Tramos: al corriente, 1–30, 31–60, 61–90 y más de 90 días.",
    ),
    Definition(
        "add",
        "Días promedio de atraso",
        "Cuántos días de más tardan los clientes en pagar respecto a lo acordado.",
        "DSO − DSO ideal; el DSO ideal cuenta solo las cuentas por cobrar al corriente (no "
        "vencidas) al final del periodo ÷ ventas × días.",
    ),
    Definition(
        "promise_kept_rate",
        "Promesas de pago cumplidas",
        "De las promesas de pago con fecha dentro del periodo y ya resueltas, cuántas se "
        "cumplieron.",
        "Promesas cumplidas ÷ (cumplidas + incumplidas); las pendientes y canceladas no cuentan.",
    ),
    Definition(
        "auto_reconciled_share",
        "Pagos conciliados automáticamente",
        "De los movimientos bancarios del periodo conciliados con un pago, cuántos concilió una "
        "regla sin que nadie eligiera las facturas.",
        "Movimientos conciliados por una regla ÷ movimientos conciliados (fecha del movimiento "
        "dentro del periodo). Las asignaciones hechas por el personal cuentan como manuales.",
    ),
    Definition(
        "recovered_by_stage",
        "Recuperado por etapa de cobranza",
        "El dinero aplicado a facturas en el periodo, según el último recordatorio de cobranza "
        "que recibió la factura en los 30 días anteriores al pago.",
        "Suma de lo aplicado (menos devoluciones) agrupada por la última etapa enviada; «Sin "
        "recordatorio» si no hubo ninguna en esos 30 días.",
    ),
    Definition(
        "recovered_by_channel",
        "Recuperado por canal",
        "El dinero aplicado a facturas en el periodo, según el último contacto enviado al "
        "cliente (correo, WhatsApp, SMS, llamada) en los 30 días anteriores al pago.",
        "Suma de lo aplicado (menos devoluciones) agrupada por el canal del último contacto; "
        "«Sin contacto» si no hubo ninguno en esos 30 días.",
    ),
    Definition(
        "dso_trend",
        "Tendencia del DSO",
        "El DSO de cada uno de los últimos 12 meses, para ver si la cobranza mejora.",
        "Por mes: cuentas por cobrar al cierre del mes ÷ ventas del mes × días del mes (el mes en "
        "curso hasta la fecha de corte).",
    ),
    Definition(
        "weekly",
        "Cobrado contra vencido por semana",
        "Lo que vencía y lo que se cobró en cada una de las últimas 12 semanas.",
        "Por semana (lunes a domingo): vencido = total de las facturas que vencían esa semana; "
        "cobrado = dinero aplicado a facturas esa semana, menos devoluciones.",
    ),
)

DEFINITIONS: dict[str, Definition] = {d.key: d for d in _ALL}
