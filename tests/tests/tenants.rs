//! Tenants of a shared sandbox (`--shared`): each a sandbox of its own under `/t/ID`. What one tenant
//! does with its clock, reset, faults or mode never reaches another; its control API acts only for its
//! own secret keys; creating tenants needs the admin key. (The same over PostgreSQL and several
//! instances: `store_instances.rs`.)

use moments_mock_server::{MockConfig, MockServer};
use serde_json::{Value, json};

const ADMIN: &str = "ak_test_admin_key_for_tenants";

struct Shared {
    server: MockServer,
    http: reqwest::Client,
}

/// A tenant as the admin API created it.
struct TenantRef {
    base: String,
    key: String,
    campaign: String,
}

impl Shared {
    async fn start() -> Shared {
        let server = MockServer::start_with(MockConfig {
            shared: true,
            admin_key: Some(ADMIN.into()),
            ..MockConfig::default()
        })
        .await
        .expect("a shared mock starts");
        Shared {
            server,
            http: reqwest::Client::new(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        url: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut rb = self.http.request(method, url);
        if let Some(k) = key {
            rb = rb.bearer_auth(k);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.expect("the mock answers");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// `POST {base}/_mock/clock/advance` by `seconds` with `key`; its status and answer.
    async fn advance(&self, base: &str, key: &str, seconds: i64) -> (u16, Value) {
        self.call(
            reqwest::Method::POST,
            &format!("{base}/_mock/clock/advance"),
            Some(key),
            Some(json!({ "seconds": seconds })),
        )
        .await
    }

    /// `GET {base}{path}` with `key`.
    async fn get(&self, base: &str, key: &str, path: &str) -> (u16, Value) {
        self.call(
            reqwest::Method::GET,
            &format!("{base}{path}"),
            Some(key),
            None,
        )
        .await
    }

    async fn tenant(&self, id: &str) -> TenantRef {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                &format!("{}/_mock/admin/tenants", self.server.base_url()),
                Some(ADMIN),
                Some(json!({ "id": id })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["id"], id);
        let base = body["base_url"].as_str().unwrap().to_owned();
        assert_eq!(base, format!("{}/t/{id}", self.server.base_url()));
        TenantRef {
            base,
            key: body["demo"]["secret_key"].as_str().unwrap().to_owned(),
            campaign: body["demo"]["campaign_id"].as_str().unwrap().to_owned(),
        }
    }

    async fn trigger(&self, t: &TenantRef, customer: &str) -> Value {
        let r = self
            .http
            .post(format!("{}/v1/triggers", t.base))
            .bearer_auth(&t.key)
            .header("Idempotency-Key", format!("k-{customer}"))
            .json(&json!({
                "campaign_id": t.campaign, "moment_id": "first_workout",
                "customer": {"id": customer, "marketplace": "US"},
                "device": {"type": "Android"}
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()["reward"].clone()
    }

    async fn reward_status(&self, t: &TenantRef, id: &str) -> String {
        let (status, body) = self
            .call(
                reqwest::Method::GET,
                &format!("{}/v1/rewards/{id}", t.base),
                Some(&t.key),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["status"].as_str().unwrap().to_owned()
    }
}

#[tokio::test]
async fn a_tenants_clock_expires_its_rewards_and_no_one_elses() {
    let s = Shared::start().await;
    let (a, b) = (s.tenant("team-a").await, s.tenant("team-b").await);
    let ra = s.trigger(&a, "cust-1").await;
    let rb = s.trigger(&b, "cust-1").await;
    // Each reward link is under its tenant's base URL.
    assert!(
        ra["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/r/", a.base))
    );
    assert!(
        rb["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/r/", b.base))
    );

    let (status, clock) = s.advance(&a.base, &a.key, 400 * 86_400).await;
    assert_eq!(status, 200, "{clock}");
    assert_eq!(
        s.reward_status(&a, ra["id"].as_str().unwrap()).await,
        "expired"
    );
    assert_eq!(
        s.reward_status(&b, rb["id"].as_str().unwrap()).await,
        "issued",
        "tenant B's reward follows B's clock"
    );
    let (_, b_clock) = s.get(&b.base, &b.key, "/_mock/clock").await;
    assert_eq!(b_clock["offset_seconds"], 0);
    // The root tenant's clock did not move either.
    let (_, root_clock) = s
        .call(
            reqwest::Method::GET,
            &format!("{}/_mock/clock", s.server.base_url()),
            Some(&s.server.demo().secret_key),
            None,
        )
        .await;
    assert_eq!(root_clock["offset_seconds"], 0);
}

#[tokio::test]
async fn a_tenants_credentials_at_the_root_url_act_for_that_tenant_only() {
    let s = Shared::start().await;
    let (a, b) = (s.tenant("team-a").await, s.tenant("team-b").await);
    let root = s.server.base_url();
    // A's secret key at the root reaches A's demo campaign (each tenant's demo has the same ids: what
    // is whose shows with the rewards below).
    let (status, body) = s
        .get(&root, &a.key, &format!("/v1/campaigns/{}", a.campaign))
        .await;
    assert_eq!(status, 200, "{body}");

    // A reward triggered at the root with A's key is A's: its link under A's base URL.
    let at_root = TenantRef {
        base: root.clone(),
        key: a.key.clone(),
        campaign: a.campaign.clone(),
    };
    let ra = s.trigger(&at_root, "cust-root").await;
    assert!(
        ra["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/r/", a.base)),
        "{ra}"
    );
    let rb = s.trigger(&b, "cust-root").await;
    let (ida, idb) = (ra["id"].as_str().unwrap(), rb["id"].as_str().unwrap());
    assert_eq!(
        s.get(&a.base, &a.key, &format!("/v1/rewards/{ida}"))
            .await
            .0,
        200
    );
    assert_eq!(
        s.get(&b.base, &b.key, &format!("/v1/rewards/{ida}"))
            .await
            .0,
        404
    );
    assert_eq!(
        s.get(&root, &a.key, &format!("/v1/rewards/{idb}")).await.0,
        404
    );
    let root_key = s.server.demo().secret_key.clone();
    assert_eq!(
        s.get(&root, &root_key, &format!("/v1/rewards/{ida}"))
            .await
            .0,
        404
    );

    // A customer token A minted at the root acts at the root for A's customer, in A.
    let (status, token) = s
        .call(
            reqwest::Method::POST,
            &format!("{root}/v1/customer_tokens"),
            Some(&a.key),
            Some(json!({"customer_id": "cust-root", "marketplace": "US"})),
        )
        .await;
    assert_eq!(status, 201, "{token}");
    let ct = token["token"].as_str().unwrap();
    let (status, mine) = s
        .get(
            &root,
            ct,
            &format!("/v1/rewards/{}", ra["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, 200, "{mine}");
    let (status, _) = s
        .get(
            &root,
            ct,
            &format!("/v1/rewards/{}", rb["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, 404, "B's reward is not in A's sandbox");

    // The control API at the root with A's key moves A's clock: A's reward expires, B's and the
    // root's clocks stay.
    let (status, clock) = s.advance(&root, &a.key, 400 * 86_400).await;
    assert_eq!(status, 200, "{clock}");
    assert_eq!(
        s.reward_status(&a, ra["id"].as_str().unwrap()).await,
        "expired"
    );
    assert_eq!(
        s.reward_status(&b, rb["id"].as_str().unwrap()).await,
        "issued"
    );
    // A's customer token, expired on A's clock, is still A's at the root: `token_expired` (what tells an
    // SDK to fetch a new one), not the root's "unknown".
    let (status, expired) = s.get(&root, ct, &format!("/v1/rewards/{ida}")).await;
    assert_eq!(
        (status, expired["error"]["code"].as_str()),
        (401, Some("token_expired")),
        "{expired}"
    );
    let (_, root_clock) = s
        .get(&root, &s.server.demo().secret_key, "/_mock/clock")
        .await;
    assert_eq!(root_clock["offset_seconds"], 0);

    // A key no tenant has is the root's 401; A's key at B's base URL is B's 401.
    let (status, _) = s
        .get(&root, "sk_test_not_a_key_of_anyone_at_all", "/v1/campaigns")
        .await;
    assert_eq!(status, 401);
    let (status, _) = s.get(&b.base, &a.key, "/v1/campaigns").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_tenants_reset_leaves_the_others_campaigns() {
    let s = Shared::start().await;
    let (a, b) = (s.tenant("team-a").await, s.tenant("team-b").await);
    let create = |name: &str| {
        json!({
            "name": name, "brand_name": "Brand",
            "start_at": "2030-01-01T00:00:00Z", "end_at": "2030-02-01T00:00:00Z",
            "budget": {"amount": 10_000, "currency": "USD"},
            "cost_per_action": {"amount": 100, "currency": "USD"},
            "marketplaces": ["US"],
            "reward_groups": [{"id": "US", "marketplace": "US", "items": ["itm_gc_10"]}],
            "moments": [{"id": "m1"}],
            "announcement_message": "Hi", "redemption_message": "Pick one"
        })
    };
    for (t, name) in [(&a, "A's campaign"), (&b, "B's campaign")] {
        let (status, body) = s
            .call(
                reqwest::Method::POST,
                &format!("{}/v1/campaigns", t.base),
                Some(&t.key),
                Some(create(name)),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let names = |t: &TenantRef| {
        let (url, key) = (format!("{}/v1/campaigns", t.base), t.key.clone());
        let s = &s;
        async move {
            let (status, body) = s.call(reqwest::Method::GET, &url, Some(&key), None).await;
            assert_eq!(status, 200, "{body}");
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert!(names(&a).await.contains(&"A's campaign".to_owned()));
    let (status, _) = s
        .call(
            reqwest::Method::POST,
            &format!("{}/_mock/reset", a.base),
            Some(&a.key),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(!names(&a).await.contains(&"A's campaign".to_owned()));
    assert!(
        names(&b).await.contains(&"B's campaign".to_owned()),
        "A's reset leaves B's campaigns"
    );
    // A's key still works after its reset: a tenant's reset puts it back as it was created.
    assert_eq!(names(&a).await.len(), 1, "the seeded demo campaign");
}

#[tokio::test]
async fn a_tenants_control_api_acts_only_for_its_own_secret_keys() {
    let s = Shared::start().await;
    let (a, b) = (s.tenant("team-a").await, s.tenant("team-b").await);
    let advance = |base: &str| format!("{base}/_mock/clock/advance");
    let body = json!({ "seconds": 60 });
    // Without a key, with another tenant's key, or with a customer token of its own app: refused.
    let token = {
        let (status, t) = s
            .call(
                reqwest::Method::POST,
                &format!("{}/v1/customer_tokens", a.base),
                Some(&a.key),
                Some(json!({"customer_id": "cust-1", "marketplace": "US"})),
            )
            .await;
        assert_eq!(status, 201, "{t}");
        t["token"].as_str().unwrap().to_owned()
    };
    for (who, key) in [
        ("no key", None),
        ("tenant B's key", Some(b.key.as_str())),
        ("a customer token", Some(token.as_str())),
        ("the admin key", Some(ADMIN)),
    ] {
        let (status, answer) = s
            .call(
                reqwest::Method::POST,
                &advance(&a.base),
                key,
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, 401, "{who}: {answer}");
        assert_eq!(answer["error"]["code"], "authentication_required", "{who}");
    }
    // Tenant B's key is unknown in tenant A's API, and the reverse.
    let (status, _) = s.get(&a.base, &b.key, "/v1/rewards").await;
    assert_eq!(status, 401);
    // Faults armed by A fail A's requests only.
    let (status, f) = s
        .call(
            reqwest::Method::POST,
            &format!("{}/_mock/faults", a.base),
            Some(&a.key),
            Some(json!({"route": "POST /v1/triggers", "status": 503, "count": 5})),
        )
        .await;
    assert_eq!(status, 201, "{f}");
    let faulted = s
        .http
        .post(format!("{}/v1/triggers", a.base))
        .bearer_auth(&a.key)
        .header("Idempotency-Key", "k-faulted")
        .json(&json!({
            "campaign_id": a.campaign, "moment_id": "first_workout",
            "customer": {"id": "cust-3", "marketplace": "US"}, "device": {"type": "Android"}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(faulted.status(), 503, "A's fault fails A's trigger");
    s.trigger(&b, "cust-2").await;
    // The health check needs no key, in every tenant.
    let (status, h) = s
        .call(
            reqwest::Method::GET,
            &format!("{}/_mock/health", a.base),
            None,
            None,
        )
        .await;
    assert_eq!((status, h["status"].as_str()), (200, Some("ok")));
}

#[tokio::test]
async fn the_admin_api_needs_the_admin_key() {
    let s = Shared::start().await;
    let url = format!("{}/_mock/admin/tenants", s.server.base_url());
    for key in [
        None,
        Some(s.server.demo().secret_key.as_str()),
        Some("ak_wrong"),
    ] {
        let (status, body) = s
            .call(reqwest::Method::POST, &url, key, Some(json!({"id": "x"})))
            .await;
        assert_eq!(status, 401, "{body}");
    }
    s.tenant("one").await;
    let (status, body) = s
        .call(
            reqwest::Method::POST,
            &url,
            Some(ADMIN),
            Some(json!({"id": "one"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("tenant_exists"))
    );
    for bad in ["", "UPPER", "a/b", "default"] {
        let (status, body) = s
            .call(
                reqwest::Method::POST,
                &url,
                Some(ADMIN),
                Some(json!({"id": bad})),
            )
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, list) = s.call(reqwest::Method::GET, &url, Some(ADMIN), None).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["default", "one"]);
    // An unknown tenant is a 404, not the root tenant.
    let (status, _) = s
        .call(
            reqwest::Method::GET,
            &format!("{}/t/nobody/v1/rewards", s.server.base_url()),
            Some(&s.server.demo().secret_key),
            None,
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn without_shared_there_are_no_tenants_and_the_control_api_is_open() {
    let server = MockServer::start().await.unwrap();
    assert!(server.admin_key().is_none());
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/_mock/admin/tenants", server.base_url()))
        .json(&json!({"id": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = http
        .get(format!("{}/_mock/clock", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Over PostgreSQL, with two instances: a tenant created through one is served by the other, and
/// tenant A's clock, moved through one instance, expires A's rewards on both and B's on neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tenants_are_kept_apart_across_instances_on_postgres() {
    let Some(admin) =
        moments_e2e::store::postgres_or_skip("tenants_are_kept_apart_across_instances_on_postgres")
    else {
        return;
    };
    let db = moments_e2e::store::TestDb::create(&admin).await;
    let start = || {
        MockServer::start_with(MockConfig {
            store: moments_mock_server::StoreSpec::Postgres(db.url.clone()),
            admin_key: Some(ADMIN.into()),
            public_url: Some("http://sandbox.test".into()),
            ..MockConfig::default()
        })
    };
    let one = Shared {
        server: start().await.expect("instance 1 starts"),
        http: reqwest::Client::new(),
    };
    let two = Shared {
        server: start().await.expect("instance 2 starts"),
        http: reqwest::Client::new(),
    };
    assert_eq!(
        one.server.admin_key(),
        Some(ADMIN),
        "PostgreSQL implies --shared"
    );
    // Created through instance one; the answer's base URL is the public one, so point it at each
    // instance's address to reach that instance.
    let on = |s: &Shared, t: &TenantRef| TenantRef {
        base: t.base.replace("http://sandbox.test", &s.server.base_url()),
        key: t.key.clone(),
        campaign: t.campaign.clone(),
    };
    let created = |s: &Shared, id: &str| {
        let url = format!("{}/_mock/admin/tenants", s.server.base_url());
        let http = s.http.clone();
        let id = id.to_owned();
        async move {
            let r = http
                .post(url)
                .bearer_auth(ADMIN)
                .json(&json!({ "id": id }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["base_url"], format!("http://sandbox.test/t/{id}"));
            TenantRef {
                base: body["base_url"].as_str().unwrap().to_owned(),
                key: body["demo"]["secret_key"].as_str().unwrap().to_owned(),
                campaign: body["demo"]["campaign_id"].as_str().unwrap().to_owned(),
            }
        }
    };
    let a = created(&one, "team-a").await;
    let b = created(&two, "team-b").await;
    // A's reward issued through instance two, B's through instance one.
    let ra = two.trigger(&on(&two, &a), "cust-1").await;
    let rb = one.trigger(&on(&one, &b), "cust-1").await;
    assert!(
        ra["url"]
            .as_str()
            .unwrap()
            .starts_with("http://sandbox.test/t/team-a/r/")
    );
    let (status, _) = one.advance(&on(&one, &a).base, &a.key, 400 * 86_400).await;
    assert_eq!(status, 200);
    for s in [&one, &two] {
        assert_eq!(
            s.reward_status(&on(s, &a), ra["id"].as_str().unwrap())
                .await,
            "expired"
        );
        assert_eq!(
            s.reward_status(&on(s, &b), rb["id"].as_str().unwrap())
                .await,
            "issued"
        );
    }
    // A tenant made through instance one: its key at instance two's root, at once, is served by it.
    let c = created(&one, "team-c").await;
    let (status, body) = two
        .call(
            reqwest::Method::GET,
            &format!("{}/v1/campaigns/{}", two.server.base_url(), c.campaign),
            Some(&c.key),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // A customer token minted through instance one for a tenant instance two has built already (its
    // state there is behind): at instance two's root it acts for that tenant's customer.
    let (status, token) = one
        .call(
            reqwest::Method::POST,
            &format!("{}/v1/customer_tokens", on(&one, &a).base),
            Some(&a.key),
            Some(json!({"customer_id": "cust-1", "marketplace": "US"})),
        )
        .await;
    assert_eq!(status, 201, "{token}");
    let (status, reward) = two
        .get(
            &two.server.base_url(),
            token["token"].as_str().unwrap(),
            &format!("/v1/rewards/{}", ra["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, 200, "{reward}");
    assert_eq!(reward["id"], ra["id"]);
    // A credential no tenant made is the root's 401, through either instance.
    for s in [&one, &two] {
        let (status, body) = s
            .get(
                &s.server.base_url(),
                "sk_test_nobodys_key_000000000000",
                "/v1/campaigns",
            )
            .await;
        assert_eq!(status, 401, "{body}");
    }
    // The list of tenants is the same through either instance.
    for s in [&one, &two] {
        let (status, list) = s
            .call(
                reqwest::Method::GET,
                &format!("{}/_mock/admin/tenants", s.server.base_url()),
                Some(ADMIN),
                None,
            )
            .await;
        assert_eq!(status, 200);
        let ids: Vec<&str> = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["default", "team-a", "team-b", "team-c"]);
    }
    drop((one, two));
}

#[tokio::test]
async fn fixtures_that_do_not_load_refuse_the_tenant_and_leave_no_trace() {
    let s = Shared::start().await;
    let url = format!("{}/_mock/admin/tenants", s.server.base_url());
    let (status, body) = s
        .call(
            reqwest::Method::POST,
            &url,
            Some(ADMIN),
            Some(json!({"id": "broken", "fixtures": {"campaigns": [{"app_id": "app_nobody", "campaign": {}}]}})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, list) = s.call(reqwest::Method::GET, &url, Some(ADMIN), None).await;
    assert_eq!(status, 200);
    assert!(
        !list.to_string().contains("broken"),
        "a refused tenant is not listed: {list}"
    );
    // Its id is free for a tenant that loads.
    s.tenant("broken").await;
}
