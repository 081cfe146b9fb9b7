"""Contact rules as a customer (and the law) would notice them: when a collection message may go
out, and until when it waits. The rules are pure functions, so these tests walk weeks, holidays,
quiet hours and time zones without a database or a clock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from recaudo.api import ContactAttempt, ContactRequest, ContactRule, RuleDecision, TenantInfo
from recaudo.core.platform.context import build_context
from recaudo.core.platform.host import PluginHost
from recaudo.plugins.condusef_mx import SCHEMA, CondusefWindow
from recaudo.plugins.contact_basics import AuthorizedChannels, QuietHours
from recaudo.plugins.ley2300_co import Ley2300
from recaudo.tenants.plugin_config import SettingsError, clean_settings

BOGOTA = "America/Bogota"
MEXICO = "America/Mexico_City"
MONTERREY = "America/Monterrey"
CO = TenantInfo(1, "clinica", "Clínica Andina", "CO", "COP", "es_CO", BOGOTA)
MX = TenantInfo(2, "ferreteria", "Ferretería Norte", "MX", "MXN", "es_MX", MEXICO)
ALL = ("email", "sms", "whatsapp")


def at(text: str, zone: str) -> datetime:
    """``"2026-12-06 10:00"`` on ``zone``'s clock, as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def request(
    moment: datetime,
    *,
    tenant: TenantInfo = CO,
    zone: str = "",
    channel: str = "email",
    authorized: tuple[str, ...] = ALL,
    quiet: tuple[str, str] | None = None,
    history: tuple[tuple[datetime, str], ...] = (),
) -> ContactRequest:
    return ContactRequest(
        tenant=tenant,
        customer_id=7,
        channel=channel,
        moment=moment,
        timezone=zone or tenant.timezone,
        authorized_channels=authorized,
        quiet_hours=quiet,
        history=tuple(ContactAttempt(when, used) for when, used in history),
    )


def check(rule: ContactRule, req: ContactRequest, settings: dict[str, Any] | None = None) -> Any:
    plugin = {"co.ley2300": "ley2300_co", "mx.condusef": "condusef_mx"}.get(
        rule.name, "contact_basics"
    )
    return rule.check(build_context(req.tenant, plugin, settings or {}), req)


def deferred(decision: RuleDecision | None, rule: str, until: datetime) -> None:
    """The message waits, named by ``rule``, until exactly ``until`` (compared as instants)."""
    assert decision is not None, "expected a deferral, the rule allowed the moment"
    assert decision.rule == rule, decision
    assert not decision.channel_refused
    assert decision.not_before is not None and decision.not_before.tzinfo is not None
    assert decision.not_before == until, (decision.not_before.isoformat(), until.isoformat())
    assert decision.reason


# --- contact_basics ---------------------------------------------------------------------------


def test_a_channel_the_customer_did_not_authorise_is_refused_not_deferred() -> None:
    req = request(at("2026-12-09 10:00", BOGOTA), channel="whatsapp", authorized=("email",))
    decision = check(AuthorizedChannels(), req)
    assert decision is not None and decision.rule == "basics.not_authorized"
    assert decision.channel_refused and decision.not_before is None
    assert "WhatsApp" in decision.reason
    assert check(AuthorizedChannels(), request(req.moment, authorized=("email",))) is None


def test_no_authorised_channel_means_no_channel() -> None:
    decision = check(AuthorizedChannels(), request(at("2026-12-09 10:00", BOGOTA), authorized=()))
    assert decision is not None and decision.channel_refused


@pytest.mark.parametrize(
    ("local", "until"),
    [
        ("2026-12-09 21:00", "2026-12-10 08:00"),  # the first quiet minute
        ("2026-12-09 23:59", "2026-12-10 08:00"),
        ("2026-12-10 00:00", "2026-12-10 08:00"),  # after midnight: the same morning
        ("2026-12-10 07:59", "2026-12-10 08:00"),
        ("2026-12-31 22:00", "2027-01-01 08:00"),  # across the year
    ],
)
def test_quiet_hours_that_wrap_midnight_defer_to_their_end(local: str, until: str) -> None:
    req = request(at(local, BOGOTA), quiet=("21:00", "08:00"))
    deferred(check(QuietHours(), req), "basics.quiet_hours", at(until, BOGOTA))


@pytest.mark.parametrize("local", ["2026-12-09 08:00", "2026-12-09 14:00", "2026-12-09 20:59"])
def test_outside_quiet_hours_nothing_waits(local: str) -> None:
    assert check(QuietHours(), request(at(local, BOGOTA), quiet=("21:00", "08:00"))) is None


def test_quiet_hours_inside_one_day() -> None:
    quiet = ("13:00", "15:30")
    deferred(
        check(QuietHours(), request(at("2026-12-09 13:10", BOGOTA), quiet=quiet)),
        "basics.quiet_hours",
        at("2026-12-09 15:30", BOGOTA),
    )
    assert check(QuietHours(), request(at("2026-12-09 15:30", BOGOTA), quiet=quiet)) is None
    assert check(QuietHours(), request(at("2026-12-09 12:59", BOGOTA), quiet=quiet)) is None


def test_quiet_hours_are_read_on_the_customers_clock_not_the_tenants() -> None:
    # 21:30 in Bogotá is 20:30 in Mexico City: not yet quiet for a customer living there.
    moment = at("2026-12-09 21:30", BOGOTA)
    assert check(QuietHours(), request(moment, zone=MEXICO, quiet=("21:00", "08:00"))) is None
    deferred(
        check(QuietHours(), request(moment, zone=BOGOTA, quiet=("21:00", "08:00"))),
        "basics.quiet_hours",
        at("2026-12-10 08:00", BOGOTA),
    )
    # and the end is 08:00 on *their* clock: 09:00 in Bogotá.
    deferred(
        check(
            QuietHours(),
            request(at("2026-12-09 23:30", BOGOTA), zone=MONTERREY, quiet=("21:00", "08:00")),
        ),
        "basics.quiet_hours",
        at("2026-12-10 08:00", MONTERREY),
    )
    assert at("2026-12-10 08:00", MONTERREY) == at("2026-12-10 09:00", BOGOTA)


def test_unknown_customer_zone_falls_back_to_the_tenants() -> None:
    req = request(at("2026-12-09 22:00", BOGOTA), zone="Mars/Olympus", quiet=("21:00", "08:00"))
    deferred(check(QuietHours(), req), "basics.quiet_hours", at("2026-12-10 08:00", BOGOTA))


@pytest.mark.parametrize("quiet", [("", ""), ("25:00", "08:00"), ("21:00", "21:00"), None])
def test_unusable_quiet_hours_hold_nothing_back(quiet: tuple[str, str] | None) -> None:
    assert check(QuietHours(), request(at("2026-12-09 23:00", BOGOTA), quiet=quiet)) is None


# --- ley2300_co -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "rule", "until"),
    [
        # The acceptance walk: Sunday → Monday 07:00; the 8 December holiday → Wednesday 07:00.
        ("2026-12-06 10:00", "co.ley2300.sunday", "2026-12-07 07:00"),
        ("2026-12-08 10:00", "co.ley2300.holiday", "2026-12-09 07:00"),
        ("2026-12-07 06:59", "co.ley2300.hours", "2026-12-07 07:00"),
        ("2026-12-07 19:00", "co.ley2300.hours", "2026-12-09 07:00"),  # Tuesday is a holiday
        ("2026-12-04 19:00", "co.ley2300.hours", "2026-12-05 08:00"),  # Friday → Saturday 08:00
        ("2026-12-05 07:30", "co.ley2300.hours", "2026-12-05 08:00"),  # Saturday opens at 8
        ("2026-12-05 15:00", "co.ley2300.hours", "2026-12-07 07:00"),  # Saturday closes at 15
        ("2026-12-05 16:00", "co.ley2300.hours", "2026-12-07 07:00"),
        ("2026-12-24 19:30", "co.ley2300.hours", "2026-12-26 08:00"),  # Christmas, then Saturday
        ("2026-12-25 09:00", "co.ley2300.holiday", "2026-12-26 08:00"),
        # Saturday afternoon before a moved ("Ley Emiliani") Monday holiday: Tuesday.
        ("2027-01-09 16:00", "co.ley2300.hours", "2027-01-12 07:00"),
        ("2027-01-11 10:00", "co.ley2300.holiday", "2027-01-12 07:00"),
        ("2027-01-06 10:00", None, None),  # 6 January itself is a working day: the holiday moved
        ("2026-12-31 23:00", "co.ley2300.hours", "2027-01-02 08:00"),  # New Year, then Saturday
        ("2026-12-09 10:00", None, None),
        ("2026-12-07 07:00", None, None),
        ("2026-12-04 18:59", None, None),
        ("2026-12-05 14:59", None, None),
    ],
)
def test_ley_2300_hours_sundays_and_holidays(
    local: str, rule: str | None, until: str | None
) -> None:
    decision = check(Ley2300(), request(at(local, BOGOTA)))
    if rule is None:
        assert decision is None
    else:
        assert until is not None
        deferred(decision, rule, at(until, BOGOTA))


def test_reasons_cite_the_law_in_spanish() -> None:
    sunday = check(Ley2300(), request(at("2026-12-06 10:00", BOGOTA)))
    holiday = check(Ley2300(), request(at("2026-12-08 10:00", BOGOTA)))
    assert "Ley 2300 de 2023" in sunday.reason and "domingo" in sunday.reason
    assert "Inmaculada Concepción" in holiday.reason


def test_at_most_one_contact_a_day() -> None:
    morning = at("2026-12-09 08:00", BOGOTA)
    req = request(at("2026-12-09 10:00", BOGOTA), history=((morning, "email"),))
    deferred(check(Ley2300(), req), "co.ley2300.daily_limit", at("2026-12-10 07:00", BOGOTA))
    # A Saturday contact: Sunday is closed, so Monday.
    saturday = request(
        at("2026-12-12 12:00", BOGOTA), history=((at("2026-12-12 09:00", BOGOTA), "email"),)
    )
    deferred(check(Ley2300(), saturday), "co.ley2300.daily_limit", at("2026-12-14 07:00", BOGOTA))
    # Yesterday's contact does not count today.
    later = request(at("2026-12-10 07:00", BOGOTA), history=((morning, "email"),))
    assert check(Ley2300(), later) is None


def test_a_naive_history_time_is_read_as_utc() -> None:
    # 03:00 UTC on the 10th is 22:00 on the 9th in Bogotá: yesterday, not today.
    naive = datetime(2026, 12, 10, 3, 0)
    assert (
        check(Ley2300(), request(at("2026-12-10 08:00", BOGOTA), history=((naive, "email"),)))
        is None
    )
    same_day = datetime(2026, 12, 10, 13, 0)  # 08:00 in Bogotá
    deferred(
        check(Ley2300(), request(at("2026-12-10 10:00", BOGOTA), history=((same_day, "email"),))),
        "co.ley2300.daily_limit",
        at("2026-12-11 07:00", BOGOTA),
    )


def test_the_day_is_the_customers_day() -> None:
    # 23:30 in Bogotá on the 9th is 22:30 in Monterrey: still the 9th there, so a contact then
    # and one at 07:00 Monterrey on the 10th fall on different days.
    late = at("2026-12-09 23:30", BOGOTA)
    req = request(at("2026-12-10 07:00", MONTERREY), zone=MONTERREY, history=((late, "email"),))
    assert check(Ley2300(), req) is None


def test_one_channel_a_week_and_the_next_week_starts_on_monday() -> None:
    monday_email = (at("2026-12-14 09:00", BOGOTA), "email")
    whatsapp = request(at("2026-12-16 10:00", BOGOTA), channel="whatsapp", history=(monday_email,))
    decision = check(Ley2300(), whatsapp)
    deferred(decision, "co.ley2300.weekly_channel", at("2026-12-21 07:00", BOGOTA))
    assert "correo electrónico" in decision.reason
    # The same channel is fine on another day of that week.
    assert (
        check(Ley2300(), request(whatsapp.moment, channel="email", history=(monday_email,))) is None
    )
    # A Sunday contact belongs to the week it ends; Monday starts a new one.
    sunday_sms = (at("2026-12-20 08:00", BOGOTA), "sms")
    assert check(Ley2300(), request(at("2026-12-21 08:00", BOGOTA), history=(sunday_sms,))) is None


def test_the_next_week_skips_a_monday_holiday() -> None:
    # Week of 2027-01-04; next Monday (11 January) is Reyes Magos moved to Monday.
    used = (at("2027-01-05 09:00", BOGOTA), "sms")
    req = request(at("2027-01-07 10:00", BOGOTA), channel="email", history=(used,))
    deferred(check(Ley2300(), req), "co.ley2300.weekly_channel", at("2027-01-12 07:00", BOGOTA))


def test_ley_2300_runs_on_the_customers_clock() -> None:
    # 19:30 in Bogotá is 18:30 in Mexico City: inside the window for a customer there.
    assert check(Ley2300(), request(at("2026-12-09 19:30", BOGOTA), zone=MEXICO)) is None
    deferred(
        check(Ley2300(), request(at("2026-12-09 19:30", BOGOTA))),
        "co.ley2300.hours",
        at("2026-12-10 07:00", BOGOTA),
    )


# --- condusef_mx ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "rule", "until"),
    [
        ("2026-12-09 23:00", "mx.condusef.hours", "2026-12-10 08:00"),  # nothing at 23:00
        ("2026-12-09 21:00", "mx.condusef.hours", "2026-12-10 08:00"),
        ("2026-12-09 07:30", "mx.condusef.hours", "2026-12-09 08:00"),
        ("2026-12-12 21:30", "mx.condusef.hours", "2026-12-14 08:00"),  # Saturday night → Monday
        ("2026-12-13 10:00", "mx.condusef.days", "2026-12-14 08:00"),  # Sunday
        ("2026-12-09 08:00", None, None),
        ("2026-12-09 20:59", None, None),
        ("2026-12-12 12:00", None, None),  # Saturday is a collection day by default
    ],
)
def test_mexico_default_window(local: str, rule: str | None, until: str | None) -> None:
    decision = check(CondusefWindow(), request(at(local, MEXICO), tenant=MX))
    if rule is None:
        assert decision is None
    else:
        assert until is not None
        deferred(decision, rule, at(until, MEXICO))


def test_mexico_window_follows_the_tenants_settings() -> None:
    settings = {"days": "lunes_a_viernes", "start": "07:00", "end": "22:00"}
    early = request(at("2026-12-09 07:00", MEXICO), tenant=MX)
    assert check(CondusefWindow(), early, settings) is None
    assert (
        check(CondusefWindow(), request(at("2026-12-09 21:59", MEXICO), tenant=MX), settings)
        is None
    )
    deferred(
        check(CondusefWindow(), request(at("2026-12-11 22:00", MEXICO), tenant=MX), settings),
        "mx.condusef.hours",
        at("2026-12-14 07:00", MEXICO),  # Friday night → Monday: no Saturdays for this tenant
    )


def test_mexico_settings_cannot_leave_the_legal_bound() -> None:
    """CONDUSEF's 07:00–22:00 is a bound no tenant can widen: the choices stop there."""
    with pytest.raises(SettingsError, match="start"):
        clean_settings(SCHEMA, {"start": "06:30"})
    with pytest.raises(SettingsError, match="end"):
        clean_settings(SCHEMA, {"end": "22:30"})
    with pytest.raises(SettingsError, match="days"):
        clean_settings(SCHEMA, {"days": "domingo"})
    assert clean_settings(SCHEMA, {}) == {
        "days": "lunes_a_sabado",
        "start": "08:00",
        "end": "21:00",
    }


@pytest.mark.parametrize(
    "settings",
    [
        {"start": "20:00", "end": "09:00"},  # the end before the start
        {"start": "05:00", "end": "23:00"},  # written around the host's validation
        {"days": "siempre"},
    ],
)
def test_unusable_mexico_settings_fall_back_to_the_default_window(settings: dict[str, str]) -> None:
    decision = check(CondusefWindow(), request(at("2026-12-09 22:00", MEXICO), tenant=MX), settings)
    deferred(decision, "mx.condusef.hours", at("2026-12-10 08:00", MEXICO))
    assert "predeterminado" in decision.reason
    assert (
        check(CondusefWindow(), request(at("2026-12-09 05:30", MEXICO), tenant=MX), settings)
        is not None
    )


def test_mexico_window_is_read_in_the_debtors_zone() -> None:
    # 21:30 in Bogotá is 20:30 in Monterrey: inside the window for a debtor there.
    assert (
        check(CondusefWindow(), request(at("2026-12-09 21:30", BOGOTA), tenant=MX, zone=MONTERREY))
        is None
    )
    deferred(
        check(CondusefWindow(), request(at("2026-12-09 22:30", BOGOTA), tenant=MX, zone=MONTERREY)),
        "mx.condusef.hours",
        at("2026-12-10 08:00", MONTERREY),
    )


# --- who applies where, and the plugins as installed ------------------------------------------


def loaded_rules() -> dict[str, tuple[str, ContactRule]]:
    host = PluginHost()
    host.load_entry_points()
    return {rule.name: (plugin, rule) for plugin, rule in host.provided("recaudo_contact_rules")}


def test_the_rules_load_from_their_plugins_with_their_countries() -> None:
    rules = loaded_rules()
    assert rules["basics.channels"][0] == "contact_basics"
    assert rules["basics.quiet_hours"][0] == "contact_basics"
    assert rules["co.ley2300"][0] == "ley2300_co"
    assert rules["mx.condusef"][0] == "condusef_mx"
    assert rules["basics.channels"][1].countries == ()
    assert rules["co.ley2300"][1].countries == ("CO",)
    assert rules["mx.condusef"][1].countries == ("MX",)


def test_the_mexican_window_settings_are_declared_to_the_host() -> None:
    host = PluginHost()
    host.load_entry_points()
    schemas = {s.plugin: s for _, s in host.provided("recaudo_settings_schema")}
    assert {f.name for f in schemas["condusef_mx"].fields} == {"days", "start", "end"}


@pytest.mark.slow
def test_plugins_list_shows_the_three_rule_plugins(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "RECAUDO_DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3",
        "RECAUDO_VAR_DIR": str(tmp_path),
        "RECAUDO_BROKER_URL": "embedded",
        "RECAUDO_ENV": "development",
    }
    out = subprocess.run(
        [sys.executable, "-m", "recaudo.cli", "plugins", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    by_name = {p["name"]: p for p in json.loads(out.stdout)["plugins"]}
    for name, provides in (
        ("contact_basics", "contact_rules:basics.quiet_hours"),
        ("ley2300_co", "contact_rules:co.ley2300"),
        ("condusef_mx", "contact_rules:mx.condusef"),
    ):
        assert by_name[name]["status"] == "ok", by_name[name]["error"]
        assert by_name[name]["source"] == "builtin"
        assert "recaudo_contact_rules" in by_name[name]["hooks"]
        assert provides in by_name[name]["provides"]


def rules_for(tenant: TenantInfo) -> list[ContactRule]:
    return [
        rule
        for _, rule in loaded_rules().values()
        if not rule.countries or tenant.country in rule.countries
    ]


def plan(req: ContactRequest, rules: list[ContactRule]) -> tuple[datetime | None, list[str]]:
    """A tiny engine, for the tests only: move the moment until every rule agrees; ``None``
    when the channel is refused. The real one lives with the dunning engine."""
    moment, named = req.moment, []
    for _ in range(50):
        later = []
        for rule in rules:
            decision = check(rule, replace(req, moment=moment))
            if decision is None:
                continue
            named.append(decision.rule)
            if decision.channel_refused:
                return None, named
            assert decision.not_before is not None and decision.not_before > moment
            later.append(decision.not_before)
        if not later:
            return moment, named
        moment = max(later)
    raise AssertionError(f"rules never agreed: {named}")


def test_combined_colombian_rules_walk_a_weekend_with_quiet_hours() -> None:
    rules = rules_for(CO)
    assert {r.name for r in rules} == {"basics.channels", "basics.quiet_hours", "co.ley2300"}
    # Saturday 14:50 with quiet hours 14:00–16:00: the quiet hours push past Saturday's 15:00
    # close, Sunday is closed, so Monday 07:00.
    req = request(at("2026-12-05 14:50", BOGOTA), quiet=("14:00", "16:00"))
    when, named = plan(req, rules)
    assert when == at("2026-12-07 07:00", BOGOTA)
    assert named == ["basics.quiet_hours", "co.ley2300.hours"]
    # A customer asleep until 09:00 on a Monday: 09:00, not the law's 07:00.
    when, _ = plan(request(at("2026-12-07 06:00", BOGOTA), quiet=("22:00", "09:00")), rules)
    assert when == at("2026-12-07 09:00", BOGOTA)


def test_mexican_rules_do_not_apply_to_colombia_and_vice_versa() -> None:
    assert "mx.condusef" not in {r.name for r in rules_for(CO)}
    assert "co.ley2300" not in {r.name for r in rules_for(MX)}
    # Sunday 10:00 in Mexico is a Mexican default-window matter, not a Colombian one.
    when, named = plan(request(at("2026-12-06 10:00", MEXICO), tenant=MX), rules_for(MX))
    assert when == at("2026-12-07 08:00", MEXICO) and named == ["mx.condusef.days"]


def test_the_example_rule_in_the_docs_runs() -> None:
    """docs/contact-rules.md shows a third party's rule; it must keep working as written."""
    text = (Path(__file__).resolve().parent.parent / "docs/contact-rules.md").read_text()
    section = text.split("## Adding a rule for another country", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {"__name__": "contact_cl"}
    exec(compile(code, "docs/contact-rules.md", "exec"), namespace)
    [rule] = namespace["recaudo_contact_rules"]()
    santiago = "America/Santiago"
    cl = TenantInfo(3, "sur", "Pagos Sur", "CL", "CLP", "es_CL", santiago)
    assert rule.countries == ("CL",)
    for local, until in (
        ("2026-12-06 10:00", "2026-12-07 08:00"),  # Sunday
        ("2026-12-12 21:00", "2026-12-14 08:00"),  # Saturday night
        ("2026-12-08 07:00", "2026-12-08 08:00"),
    ):
        decision = rule.check(None, request(at(local, santiago), tenant=cl))
        deferred(decision, "cl.hours", at(until, santiago))
    assert rule.check(None, request(at("2026-12-09 12:00", santiago), tenant=cl)) is None
