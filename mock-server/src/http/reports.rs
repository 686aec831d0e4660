//! `GET /v1/reports`: actions, rewards, redemptions and spend of the calling app.

use axum::Json;
use axum::extract::State as S;
use chrono::NaiveDate;

use crate::app::AppState;
use crate::domain::errors::{ApiError, ApiResult};
use crate::domain::model::*;
use crate::domain::reports::{ReportQuery, report_of};
use crate::http::auth::SecretAuth;
use crate::http::envelope::ErrorEnvelope;
use crate::http::extract::QueryMap;

/// `GET /v1/reports`
#[utoipa::path(get, path = "/v1/reports", tag = "reports",
    params(("campaign_id" = Option<String>, Query), ("from" = Option<String>, Query), ("to" = Option<String>, Query), ("group_by" = Option<String>, Query)),
    responses((status = 200, body = Report), (status = "4XX", body = ErrorEnvelope)))]
pub async fn report(
    S(app): S<AppState>,
    SecretAuth(p): SecretAuth,
    q: QueryMap,
) -> ApiResult<Json<Report>> {
    let from = parse_date(&q, "from")?;
    let to = parse_date(&q, "to")?;
    let group_by = q.get("group_by").map(str::to_string);
    if let Some(gb) = &group_by
        && !["moment", "marketplace", "segment", "variant", "day"].contains(&gb.as_str())
    {
        return Err(ApiError::validation(
            "group_by",
            "`group_by` is moment, marketplace, segment, variant or day.",
        ));
    }
    let query = ReportQuery {
        campaign_id: q.get("campaign_id").map(str::to_string),
        from,
        to,
        group_by,
    };
    let g = app.lock();
    report_of(&g, p.app_id(), p.account_id(), &query).map(Json)
}

fn parse_date(q: &QueryMap, k: &str) -> ApiResult<Option<NaiveDate>> {
    q.get(k)
        .map(|s| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| ApiError::validation(k, format!("`{k}` is a date YYYY-MM-DD.")))
        })
        .transpose()
}
