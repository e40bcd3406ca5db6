"""The overview: the business over the last 90 days, a chart and its table per figure."""

from datetime import timedelta

from flask import current_app, render_template

from app.admin import bp
from app.admin.charts import Chart, Series, per_currency
from app.admin.metrics import DEFINITIONS, WINDOW_DAYS, Overview, overview


@bp.get("", endpoint="overview")
def overview_page() -> str:
    figures = overview()
    return render_template("admin/overview.html", charts=charts(figures), days=figures.days,
                           window=WINDOW_DAYS)


def charts(o: Overview) -> list[Chart]:
    """The page's charts, in its order, with the one-line headline each leads with."""
    locale = current_app.config["BILLING_LOCALE"]
    default = current_app.config["BILLING_CURRENCY"]
    days = o.days
    result: list[Chart] = []

    def mrr(currency: str, title: str) -> Chart:
        values = o.mrr.get(currency, [0] * len(days))
        chart = Chart("mrr-" + currency, title, DEFINITIONS["mrr"], days,
                      [Series("MRR", values, "line")], currency, locale=locale)
        chart.headline = f"{chart.fmt(values[-1])} today, {chart.fmt(values[0])} on the first day."
        return chart

    result += per_currency("Monthly recurring revenue", o.mrr, default, mrr)

    plans = Chart("subscribers", "Subscribers by plan", DEFINITIONS["subscribers"], days,
                  [Series("Monthly", o.subscribers["month"], "line"),
                   Series("Annual", o.subscribers["year"], "line")], locale=locale)
    month, year = o.subscribers["month"][-1], o.subscribers["year"][-1]
    plans.headline = f"{month + year:,} today: {month:,} monthly, {year:,} annual."
    result.append(plans)

    trials = Chart("trials", "Trials started and converted", DEFINITIONS["trials"], days,
                   [Series("Started", o.trials_started), Series("Converted", o.trials_converted)])
    trials.headline = (f"{trials.total(0):,} started and {trials.total(1):,} converted in "
                       f"{WINDOW_DAYS} days.")
    result.append(trials)

    ended = Chart("cancellations", "Cancellations and churn", DEFINITIONS["cancellations"],
                  days, [Series("Paying", o.cancellations_paying),
                         Series("Trial or unpaid", o.cancellations_other)])
    eve = days[0] - timedelta(days=1)
    churn = (f": churn of {o.churn:.1%} on the {o.subscribers_before:,} subscribers of "
             f"{eve.strftime('%-d %b')}" if o.churn is not None
             else "; no subscribers before the window, so no churn rate")
    ended.headline = (f"{ended.total(0) + ended.total(1):,} ended in {WINDOW_DAYS} days, "
                      f"{ended.total(0):,} of them paying{churn}.")
    result.append(ended)

    def past_due(currency: str, title: str) -> Chart:
        chart = Chart("past-due-" + currency, title, DEFINITIONS["at_risk"], days,
                      [Series("Recovered", o.recovered.get(currency, [0] * len(days))),
                       Series("At risk", o.at_risk.get(currency, [0] * len(days)), "line")],
                      currency, locale=locale)
        chart.headline = (f"{chart.fmt(chart.series[1].values[-1])} at risk today; "
                          f"{chart.fmt(chart.total(0))} recovered in {WINDOW_DAYS} days.")
        return chart

    result += per_currency("Past due: at risk and recovered",
                           {**o.at_risk, **o.recovered}, default, past_due)

    def flow(key: str, title_: str, by_currency: dict[str, list[int]], label: str) -> None:
        def make(currency: str, title: str) -> Chart:
            chart = Chart(f"{key}-{currency}", title, DEFINITIONS[key], days,
                          [Series(label, by_currency.get(currency, [0] * len(days)))],
                          currency, locale=locale)
            chart.headline = f"{chart.fmt(chart.total(0))} in {WINDOW_DAYS} days."
            return chart

        result.extend(per_currency(title_, by_currency, default, make))

    flow("upgrades", "One-time upgrade revenue", o.upgrade_revenue, "Upgrades")
    flow("refunds", "Refunds", o.refunds, "Refunds")

    referrals = Chart("referrals", "Referral conversions", DEFINITIONS["referrals"], days,
                      [Series("Conversions", o.referral_conversions)])
    referrals.headline = f"{referrals.total(0):,} in {WINDOW_DAYS} days."
    result.append(referrals)

    credit = Chart("credit", "Credit days", DEFINITIONS["credit"], days,
                   [Series("Granted", o.credit_granted), Series("Taken back", o.credit_reversed)],
                   unit="days")
    credit.headline = (f"{credit.total(0):,} days granted and {credit.total(1):,} taken back in "
                       f"{WINDOW_DAYS} days.")
    result.append(credit)
    return result
