//! Runs the example backend. See README.md.

use std::net::SocketAddr;

use moments_client::MomentsClient;
use moments_client::models::{CampaignListParams, CampaignStatus, WebhookEndpointCreate};
use moments_example_backend::{AppState, router};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,moments_client=debug".into()),
        )
        // Colours for a terminal only, not in files and CI logs.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();

    let base_url = env("MOMENTS_BASE_URL").unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let secret_key = env("MOMENTS_SECRET_KEY").ok_or("set MOMENTS_SECRET_KEY")?;
    let addr: SocketAddr = env("LISTEN_ADDR")
        .unwrap_or_else(|| "127.0.0.1:3000".into())
        .parse()?;
    let client = MomentsClient::builder()
        .base_url(&base_url)
        .secret_key(secret_key)
        .build()?;

    let campaign_id = match env("MOMENTS_CAMPAIGN_ID") {
        Some(id) => id,
        None => {
            let live = client
                .campaigns()
                .list(&CampaignListParams {
                    status: Some(CampaignStatus::Live),
                    ..Default::default()
                })
                .await?;
            live.data
                .first()
                .map(|c| c.id.clone())
                .ok_or("no live campaign; set MOMENTS_CAMPAIGN_ID")?
        }
    };

    let webhook_secret = match env("MOMENTS_WEBHOOK_SECRET") {
        Some(s) => s,
        None => {
            // Register this service's webhook endpoint and keep the secret it answers (shown once).
            let public = env("PUBLIC_URL").unwrap_or_else(|| format!("http://{addr}"));
            let url = format!("{public}/webhooks/moments");
            // An endpoint for this URL left by an earlier run has a secret nobody knows any more: its
            // deliveries would fail verification here and be retried for nothing. Replace it.
            for stale in client.webhook_endpoints().list().await?.data {
                if stale.url == url {
                    client.webhook_endpoints().delete(&stale.id).await?;
                    tracing::info!(endpoint = %stale.id, "removed the endpoint of an earlier run");
                }
            }
            let ep = client
                .webhook_endpoints()
                .create(&WebhookEndpointCreate {
                    url,
                    events: vec![],
                })
                .await?;
            tracing::info!(endpoint = %ep.id, "registered webhook endpoint");
            ep.secret.ok_or("the API answered no webhook secret")?
        }
    };

    let state = AppState {
        client,
        campaign_id: campaign_id.clone(),
        webhook_secret: webhook_secret.into(),
        marketplace: env("MOMENTS_MARKETPLACE").unwrap_or_else(|| "US".into()),
    };
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, %base_url, %campaign_id, "example backend listening");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
