//! Campaigns: the list, a campaign's page and its lifecycle actions, the create and edit form.

use axum::Router;
use axum::response::Response;
use axum::routing::get;
use maud::html;

use super::ConsoleState;
use super::layout::{self, Section};
use super::session::Console;
use crate::domain::campaigns;

/// The campaign pages' routes.
pub fn routes() -> Router<ConsoleState> {
    Router::new().route("/console/campaigns", get(list))
}

async fn list(c: Console) -> Response {
    let rows: Vec<_> = {
        let g = c.app.lock();
        g.campaigns
            .of_app(c.app_id())
            .iter()
            .rev()
            .filter_map(|r| campaigns::campaign_view(&g, &r.c.id))
            .collect()
    };
    let body = html! {
        h1 { "Campaigns" }
        div class="table-wrap" {
            table {
                thead { tr { th { "Name" } th { "Status" } th { "Start" } th { "End" } th class="num" { "Spent this month" } } }
                tbody {
                    @for k in &rows {
                        tr {
                            td { a href={ "/console/campaigns/" (k.id) } { (k.name) } }
                            td { span class={ "status status-" (k.status.as_str()) } { (k.status.as_str()) } }
                            td { (k.start_at.format("%Y-%m-%d %H:%M")) }
                            td { (k.end_at.format("%Y-%m-%d %H:%M")) }
                            td class="num" { (layout::dollars(k.spend.spent.amount)) }
                        }
                    }
                }
            }
        }
    };
    layout::page(&c, Section::Campaigns, "Campaigns", body)
}
