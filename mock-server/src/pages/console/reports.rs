//! Reports: the API's report of the signed-in app (`GET /v1/reports`, the same domain function) as
//! charts with their numbers beside them, and each grouping as CSV.

use axum::Router;
use axum::extract::Query;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use maud::{Markup, html};
use serde::Deserialize;

use super::ConsoleState;
use super::charts::{self, Bar, Series};
use super::layout::{self, Section};
use super::session::Console;
use crate::domain::errors::{ApiError, ApiResult};
use crate::domain::model::{Metrics, Report};
use crate::domain::reports::{ReportQuery, reports_of};

/// The groupings of the API's report (`group_by`), with their headings.
pub const GROUPINGS: [(&str, &str); 5] = [
    ("day", "Per day"),
    ("moment", "By moment"),
    ("marketplace", "By marketplace"),
    ("segment", "By segment"),
    ("variant", "By variant"),
];

/// The report pages' routes.
pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/console/reports", get(page))
        .route("/console/reports/csv", get(csv))
}

/// The report's filters, as the page's form sends them (empty fields are absent).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ReportParams {
    /// One campaign, or all of the app's.
    pub campaign_id: Option<String>,
    /// First day, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD`.
    pub to: Option<String>,
    /// The CSV's grouping.
    pub group_by: Option<String>,
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn date(s: &Option<String>, name: &str) -> ApiResult<Option<NaiveDate>> {
    non_empty(s)
        .map(|d| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| ApiError::validation(name, format!("`{name}` is a date YYYY-MM-DD.")))
        })
        .transpose()
}

impl ReportParams {
    /// The domain's query (without grouping), or the API's validation error.
    pub fn query(&self) -> ApiResult<ReportQuery> {
        Ok(ReportQuery {
            campaign_id: non_empty(&self.campaign_id).map(str::to_owned),
            from: date(&self.from, "from")?,
            to: date(&self.to, "to")?,
            group_by: None,
        })
    }

    /// The query string of these filters with `group_by` (for the CSV links).
    fn with_group(&self, group_by: &str) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("campaign_id", &self.campaign_id),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(v) = non_empty(v) {
                q.append_pair(k, v);
            }
        }
        q.append_pair("group_by", group_by);
        q.finish()
    }
}

/// `GET /console/reports`: the filters, the totals, one chart and table per grouping, the redemption
/// rate per variant.
async fn page(c: Console, Query(p): Query<ReportParams>) -> Response {
    let groupings: Vec<Option<&str>> = GROUPINGS.iter().map(|(g, _)| Some(*g)).collect();
    let (campaigns, reports) = {
        let g = c.app.lock();
        let campaigns: Vec<(String, String)> = g
            .campaigns
            .of_app(c.app_id())
            .iter()
            .map(|r| (r.c.id.clone(), format!("{} ({})", r.c.name, r.c.id)))
            .collect();
        let reports = p
            .query()
            .and_then(|q| reports_of(&g, c.app_id(), c.account_id(), &q, &groupings));
        (campaigns, reports)
    };
    let body = html! {
        h1 { "Reports" }
        (filters(&p, &campaigns))
        @match &reports {
            Err(e) => p class="form-error" role="alert" { (e.message) }
            Ok(reports) => (report_body(&p, reports))
        }
    };
    layout::page(&c, Section::Reports, "Reports", body)
}

fn filters(p: &ReportParams, campaigns: &[(String, String)]) -> Markup {
    let mut options = vec![(String::new(), "All campaigns".to_owned())];
    options.extend(campaigns.iter().cloned());
    let none = layout::FormErrors::default();
    html! {
        form method="get" action="/console/reports" class="filters" {
            div class="grid" {
                (layout::select(&none, "Campaign", "campaign_id", &options, non_empty(&p.campaign_id).unwrap_or("")))
                (layout::input(&none, "From (UTC day)", "from", non_empty(&p.from).unwrap_or(""), "date"))
                (layout::input(&none, "To (UTC day)", "to", non_empty(&p.to).unwrap_or(""), "date"))
            }
            div class="actions" { button type="submit" { "Show" } }
        }
    }
}

fn report_body(p: &ReportParams, reports: &[Report]) -> Markup {
    let first = &reports[0];
    let t = &first.totals;
    html! {
        h2 { "Totals" }
        div class="table-wrap" {
            table id="report-totals" {
                thead { tr {
                    th scope="col" class="num" { "Actions" } th scope="col" class="num" { "Rewards issued" }
                    th scope="col" class="num" { "Redeemed" } th scope="col" class="num" { "Expired" }
                    th scope="col" class="num" { "Flagged" } th scope="col" class="num" { "Cancelled" }
                    th scope="col" class="num" { "Spend" } th scope="col" class="num" { "Refunds" }
                    th scope="col" class="num" { "Remaining budget this month" }
                } }
                tbody { tr {
                    td class="num" { (t.actions) } td class="num" { (t.rewards_issued) }
                    td class="num" { (t.rewards_redeemed) } td class="num" { (t.rewards_expired) }
                    td class="num" { (t.rewards_flagged) } td class="num" { (t.rewards_cancelled) }
                    td class="num" { (layout::dollars(t.spend.amount)) } td class="num" { (layout::dollars(t.refunds.amount)) }
                    td class="num" { (layout::dollars(first.remaining_budget.amount)) }
                } }
            }
        }
        @for ((key, heading), report) in GROUPINGS.iter().zip(reports) {
            (grouping(p, key, heading, report))
        }
        (variant_rates(first))
    }
}

/// The series of a grouping's chart: actions per day with rewards; otherwise rewards issued and redeemed.
fn grouping_series(key: &str, report: &Report) -> (Vec<String>, Vec<Series>) {
    let labels = report.rows.iter().map(|r| r.key.clone()).collect();
    let series_of = |name: &str, f: fn(&Metrics) -> i64| Series {
        name: name.to_owned(),
        bars: report
            .rows
            .iter()
            .map(|r| Bar::count(f(&r.metrics)))
            .collect(),
    };
    let series = if key == "day" {
        vec![
            series_of("Actions", |m| m.actions),
            series_of("Rewards issued", |m| m.rewards_issued),
        ]
    } else {
        vec![
            series_of("Actions", |m| m.actions),
            series_of("Rewards issued", |m| m.rewards_issued),
            series_of("Rewards redeemed", |m| m.rewards_redeemed),
        ]
    };
    (labels, series)
}

fn grouping(p: &ReportParams, key: &str, heading: &str, report: &Report) -> Markup {
    let (labels, series) = grouping_series(key, report);
    let id = format!("chart-{key}");
    let desc = format!(
        "{heading}: {} for each {key}; the table after the chart lists the numbers.",
        series
            .iter()
            .map(|s| s.name.to_lowercase())
            .collect::<Vec<_>>()
            .join(", ")
    );
    html! {
        section class="report-group" aria-labelledby={ (id) "-h" } {
            h2 id={ (id) "-h" } { (heading) }
            figure {
                (charts::bars(&id, heading, &desc, &labels, &series))
                figcaption {
                    a href={ "/console/reports/csv?" (p.with_group(key)) } download={ "report-" (key) ".csv" } {
                        "Download CSV (" (heading.to_lowercase()) ")"
                    }
                }
            }
            (charts::table(heading, key, &labels, &series))
        }
    }
}

fn variant_rates(report: &Report) -> Markup {
    let labels: Vec<String> = report
        .variants
        .iter()
        .map(|v| v.variant_id.clone())
        .collect();
    let rate = Series {
        name: "Redemption rate".into(),
        bars: report
            .variants
            .iter()
            .map(|v| Bar {
                value: v
                    .redemption_rate
                    .as_deref()
                    .and_then(|r| r.parse().ok())
                    .unwrap_or(0.0),
                text: v.redemption_rate.clone().unwrap_or_else(|| "–".into()),
            })
            .collect(),
    };
    let issued = Series {
        name: "Issued".into(),
        bars: report
            .variants
            .iter()
            .map(|v| Bar::count(v.issued))
            .collect(),
    };
    let redeemed = Series {
        name: "Redeemed".into(),
        bars: report
            .variants
            .iter()
            .map(|v| Bar::count(v.redeemed))
            .collect(),
    };
    let title = "Redemption rate per variant";
    let desc = "Rewards redeemed over rewards issued, per A/B variant; the table after the chart lists the numbers.";
    html! {
        section class="report-group" aria-labelledby="chart-rate-h" {
            h2 id="chart-rate-h" { (title) }
            figure { (charts::bars("chart-rate", title, desc, &labels, std::slice::from_ref(&rate))) }
            (charts::table(title, "variant", &labels, &[issued, redeemed, rate]))
        }
    }
}

/// The CSV columns, after `row` (`group` or `total`) and `key`: the API report's metrics.
pub const CSV_COLUMNS: [&str; 11] = [
    "row",
    "key",
    "actions",
    "rewards_issued",
    "rewards_redeemed",
    "rewards_expired",
    "rewards_flagged",
    "rewards_cancelled",
    "spend",
    "refunds",
    "currency",
];

/// A report as CSV: a header, one `group` row per row of the report (in its order), then the
/// `total` row; amounts in minor units, as the API gives them.
pub fn report_csv(report: &Report) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let record = |w: &mut csv::Writer<Vec<u8>>, row: &str, key: &str, m: &Metrics| {
        w.write_record([
            row.to_owned(),
            key.to_owned(),
            m.actions.to_string(),
            m.rewards_issued.to_string(),
            m.rewards_redeemed.to_string(),
            m.rewards_expired.to_string(),
            m.rewards_flagged.to_string(),
            m.rewards_cancelled.to_string(),
            m.spend.amount.to_string(),
            m.refunds.amount.to_string(),
            m.spend.currency.to_string(),
        ])
        .expect("writing to memory");
    };
    w.write_record(CSV_COLUMNS).expect("writing to memory");
    for r in &report.rows {
        record(&mut w, "group", &r.key, &r.metrics);
    }
    record(&mut w, "total", "", &report.totals);
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("UTF-8 in, UTF-8 out")
}

/// `GET /console/reports/csv`: the API's report for the filters and `group_by`, as CSV.
async fn csv(c: Console, Query(p): Query<ReportParams>) -> Response {
    let group_by = non_empty(&p.group_by);
    if group_by.is_some_and(|g| !GROUPINGS.iter().any(|(k, _)| *k == g)) {
        return layout::api_error_page(&ApiError::validation(
            "group_by",
            "`group_by` is moment, marketplace, segment, variant or day.",
        ));
    }
    let report = p.query().and_then(|q| {
        let g = c.app.lock();
        reports_of(&g, c.app_id(), c.account_id(), &q, &[group_by])
    });
    match report {
        Ok(mut r) => {
            let body = report_csv(&r.pop().expect("one report"));
            let name = format!("report-{}.csv", group_by.unwrap_or("totals"));
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}\""),
                    ),
                ],
                body,
            )
                .into_response()
        }
        Err(e) => layout::api_error_page(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::ReportRow;
    use crate::domain::money::Money;

    fn metrics(n: i64) -> Metrics {
        Metrics {
            actions: n,
            rewards_issued: n + 1,
            rewards_redeemed: n + 2,
            rewards_expired: n + 3,
            rewards_flagged: n + 4,
            rewards_cancelled: n + 5,
            spend: Money::usd(n * 100),
            refunds: Money::usd(n * 10),
        }
    }

    #[test]
    fn the_csv_has_every_row_then_the_total_and_quotes_what_needs_it() {
        let report = Report {
            object: "report".into(),
            campaign_id: None,
            from: None,
            to: None,
            totals: metrics(10),
            group_by: Some("segment".into()),
            rows: vec![
                ReportRow {
                    key: "gold, \"vip\"".into(),
                    metrics: metrics(1),
                },
                ReportRow {
                    key: "(none)".into(),
                    metrics: metrics(2),
                },
            ],
            remaining_budget: Money::usd(0),
            variants: vec![],
        };
        assert_eq!(
            report_csv(&report),
            "row,key,actions,rewards_issued,rewards_redeemed,rewards_expired,rewards_flagged,rewards_cancelled,spend,refunds,currency\n\
             group,\"gold, \"\"vip\"\"\",1,2,3,4,5,6,100,10,USD\n\
             group,(none),2,3,4,5,6,7,200,20,USD\n\
             total,,10,11,12,13,14,15,1000,100,USD\n"
        );
    }

    #[test]
    fn filters_become_the_domain_query_or_the_api_error() {
        let p = ReportParams {
            campaign_id: Some(" ".into()),
            from: Some("2026-12-01".into()),
            to: Some(String::new()),
            group_by: None,
        };
        let q = p.query().expect("valid");
        assert_eq!(q.campaign_id, None);
        assert_eq!(q.from, NaiveDate::from_ymd_opt(2026, 12, 1));
        assert_eq!(q.to, None);
        assert_eq!(p.with_group("day"), "from=2026-12-01&group_by=day");
        let bad = ReportParams {
            from: Some("12/01/2026".into()),
            ..ReportParams::default()
        };
        assert_eq!(bad.query().unwrap_err().param.as_deref(), Some("from"));
    }
}
