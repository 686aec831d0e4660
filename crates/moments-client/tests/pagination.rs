//! Cursor pagination as a Stream.

mod common;

use common::*;
use futures_util::StreamExt;
use moments_client::models::{RewardListParams, RewardStatus};
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer};

async fn three_pages(server: &MockServer) {
    let page = |ids: &[&str], next: Option<&str>| {
        ok_json(
            200,
            json!({"object": "list", "data": ids.iter().map(|i| reward_json(i)).collect::<Vec<_>>(),
                   "has_more": next.is_some(), "next_cursor": next}),
        )
    };
    Mock::given(method("GET"))
        .and(path("/v1/rewards"))
        .and(query_param("cursor", "c2"))
        .respond_with(page(&["rwd_3", "rwd_4"], Some("c3")))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/rewards"))
        .and(query_param("cursor", "c3"))
        .respond_with(page(&["rwd_5"], None))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/rewards"))
        .respond_with(page(&["rwd_1", "rwd_2"], Some("c2")))
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_stream_follows_next_cursor_across_pages() {
    let server = MockServer::builder().start().await;
    three_pages(&server).await;
    let params = RewardListParams {
        status: Some(RewardStatus::Issued),
        limit: Some(2),
        ..Default::default()
    };
    let ids: Vec<String> = client(&server)
        .rewards()
        .list_stream(params)
        .map(|r| r.unwrap().id)
        .collect()
        .await;
    assert_eq!(ids, ["rwd_1", "rwd_2", "rwd_3", "rwd_4", "rwd_5"]);
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 3);
    for r in &reqs {
        let q = r.url.query().unwrap();
        assert!(q.contains("status=issued") && q.contains("limit=2"), "{q}");
    }
}

#[tokio::test]
async fn a_single_page_call_exposes_the_cursor() {
    let server = MockServer::builder().start().await;
    three_pages(&server).await;
    let page = client(&server)
        .rewards()
        .list(&RewardListParams::default())
        .await
        .unwrap();
    assert!(page.has_more);
    assert_eq!(page.next_cursor.as_deref(), Some("c2"));
    assert_eq!(page.data.len(), 2);
}

#[tokio::test]
async fn a_stream_ends_after_yielding_an_error() {
    let server = MockServer::builder().start().await;
    Mock::given(method("GET"))
        .and(query_param("cursor", "c2"))
        .respond_with(error_body("validation_error", 400, Some("cursor")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ok_json(
            200,
            json!({"object": "list", "data": [reward_json("rwd_1")], "has_more": true, "next_cursor": "c2"}),
        ))
        .mount(&server)
        .await;
    let items: Vec<_> = client(&server)
        .rewards()
        .list_stream(RewardListParams::default())
        .collect()
        .await;
    assert_eq!(items.len(), 2);
    assert!(items[0].is_ok());
    assert_eq!(items[1].as_ref().unwrap_err().status(), Some(400));
}
