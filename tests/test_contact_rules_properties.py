"""Properties every contact rule must keep, over moments hypothesis picks: a deferral is strictly
later than the moment, is itself allowed by the rule (so the engine never loops), and is the
earliest such moment at minute resolution; combined, the rules of a country always agree on a
moment no earlier than the one asked for."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from recaudo.api import ContactAttempt, ContactRequest, ContactRule, TenantInfo
from recaudo.core.platform.context import build_context
from recaudo.plugins.condusef_mx import CondusefWindow
from recaudo.plugins.condusef_mx.window import DAYS, END_CHOICES, START_CHOICES
from recaudo.plugins.contact_basics import AuthorizedChannels, QuietHours
from recaudo.plugins.ley2300_co import Ley2300

FAST = settings(max_examples=300, deadline=None)
#: Zones without daylight saving (Colombia never had it now; Mexico dropped it in 2022).
STEADY = ("America/Bogota", "America/Mexico_City", "America/Monterrey")
CO = TenantInfo(1, "clinica", "Clínica Andina", "CO", "COP", "es_CO", "America/Bogota")
MX = TenantInfo(2, "ferreteria", "Ferretería Norte", "MX", "MXN", "es_MX", "America/Mexico_City")
CHANNELS = ("email", "sms", "whatsapp")
MINUTE = timedelta(minutes=1)

moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
hhmm = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 15, 30]))
quiet_hours = st.one_of(st.none(), st.tuples(hhmm, hhmm).filter(lambda q: q[0] != q[1]))


@st.composite
def requests(draw: Any, tenant: TenantInfo, zones: tuple[str, ...] = STEADY) -> ContactRequest:
    moment = draw(moments)
    history = draw(
        st.lists(st.tuples(st.integers(0, 14 * 24 * 60), st.sampled_from(CHANNELS)), max_size=4)
    )
    return ContactRequest(
        tenant=tenant,
        customer_id=1,
        channel=draw(st.sampled_from(CHANNELS)),
        moment=moment,
        timezone=draw(st.sampled_from(zones)),
        authorized_channels=tuple(draw(st.sets(st.sampled_from(CHANNELS)))),
        quiet_hours=draw(quiet_hours),
        history=tuple(ContactAttempt(moment - timedelta(minutes=m), c) for m, c in history),
    )


mx_settings = st.fixed_dictionaries(
    {
        "days": st.sampled_from(tuple(DAYS)),
        "start": st.sampled_from(START_CHOICES),
        "end": st.sampled_from(END_CHOICES),
    }
)


def check(rule: ContactRule, req: ContactRequest, conf: dict[str, Any] | None = None) -> Any:
    return rule.check(build_context(req.tenant, "rules", conf or {}), req)


def assert_deferral_is_sound(
    rule: ContactRule, req: ContactRequest, conf: dict[str, Any] | None = None
) -> None:
    decision = check(rule, req, conf)
    if decision is None:
        return
    assert not decision.channel_refused
    until = decision.not_before
    assert until is not None and until.tzinfo is not None
    assert until > req.moment, (req.moment, until)
    assert check(rule, replace(req, moment=until), conf) is None, (req.moment, until)
    before = until - MINUTE
    if before > req.moment:  # the minute before was still held back: nothing earlier was missed
        assert check(rule, replace(req, moment=before), conf) is not None, (req.moment, until)


@FAST
@given(requests(CO))
def test_quiet_hours_defer_to_an_allowed_moment(req: ContactRequest) -> None:
    assert_deferral_is_sound(QuietHours(), req)


@FAST
@given(requests(CO, zones=("America/New_York", "America/Santiago", "Europe/Madrid")))
def test_quiet_hours_hold_across_daylight_saving_changes(req: ContactRequest) -> None:
    """Zones with daylight saving: still later and allowed (the minute-before check is left out:
    a skipped hour has no minute before)."""
    decision = check(QuietHours(), req)
    if decision is not None:
        assert decision.not_before is not None and decision.not_before > req.moment
        assert check(QuietHours(), replace(req, moment=decision.not_before)) is None


@FAST
@given(requests(CO))
def test_ley_2300_defers_to_an_allowed_moment(req: ContactRequest) -> None:
    assert_deferral_is_sound(Ley2300(), req)


@FAST
@given(requests(MX), st.one_of(st.just({}), mx_settings))
def test_mexican_window_defers_to_an_allowed_moment(
    req: ContactRequest, conf: dict[str, Any]
) -> None:
    assert_deferral_is_sound(CondusefWindow(), req, conf)


@FAST
@given(requests(MX), st.one_of(st.just({}), mx_settings))
def test_nothing_in_mexico_goes_out_before_7_or_from_22(
    req: ContactRequest, conf: dict[str, Any]
) -> None:
    """Whatever the tenant chose, an allowed moment is inside CONDUSEF's 07:00–22:00."""
    if check(CondusefWindow(), req, conf) is None:
        local = req.moment.astimezone(ZoneInfo(req.timezone))
        assert 7 <= local.hour < 22


@FAST
@given(requests(CO))
def test_nothing_in_colombia_goes_out_on_sundays_or_at_night(req: ContactRequest) -> None:
    if check(Ley2300(), req) is None:
        local = req.moment.astimezone(ZoneInfo(req.timezone))
        assert local.weekday() != 6
        assert (7 if local.weekday() < 5 else 8) <= local.hour < (19 if local.weekday() < 5 else 15)


@FAST
@given(st.one_of(requests(CO), requests(MX)))
def test_a_countrys_rules_together_agree_on_a_moment(req: ContactRequest) -> None:
    """The tiny engine of the tests: every rule of the tenant's country, moved forward until
    none objects. It is never earlier than asked and the moment it finds is allowed by all. The
    history only reaches 14 days back, so within three weeks the rules agree, unless the
    customer's quiet hours cover every hour the law allows: then no moment exists at all (the
    engine must tell staff instead of waiting forever; docs/contact-rules.md)."""
    country = Ley2300() if req.tenant.country == "CO" else CondusefWindow()
    rules: list[ContactRule] = [AuthorizedChannels(), QuietHours(), country]
    moment = req.moment
    while moment < req.moment + timedelta(days=21):
        decisions = [d for r in rules if (d := check(r, replace(req, moment=moment)))]
        if any(d.channel_refused for d in decisions):
            assert req.channel not in req.authorized_channels
            return
        if not decisions:
            assert moment >= req.moment
            assert all(check(r, replace(req, moment=moment)) is None for r in rules)
            return
        later = max(d.not_before for d in decisions)
        assert later > moment
        moment = later
    # No agreement: every quarter hour of a whole later week is quiet or outside the law.
    assert req.quiet_hours is not None
    week = replace(req, history=())
    for step in range(7 * 24 * 4):
        probe = replace(week, moment=moment + timedelta(minutes=15 * step))
        assert check(QuietHours(), probe) is not None or check(country, probe) is not None
