//! The request id: a fresh `req_…` for every request, in scope while it is handled (error envelopes and
//! the journal read it: [`current_request_id`](crate::http::envelope::current_request_id)) and on the
//! response's `X-Request-Id`.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::response::Response;
use tokio::task::futures::TaskLocalFuture;
use tower::{Layer, Service};

use crate::domain::ids;
use crate::http::envelope::REQUEST_ID;
use crate::http::layers::{After, Then};

/// The layer.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestIdLayer;

impl<S> Layer<S> for RequestIdLayer {
    type Service = RequestId<S>;

    fn layer(&self, inner: S) -> RequestId<S> {
        RequestId(inner)
    }
}

/// The service of [`RequestIdLayer`].
#[derive(Clone, Debug)]
pub struct RequestId<S>(S);

/// Sets the `X-Request-Id` header on the answer.
pub struct SetHeader(HeaderValue);

impl After for SetHeader {
    fn after(self, mut resp: Response) -> Response {
        resp.headers_mut().insert("x-request-id", self.0);
        resp
    }
}

impl<S> Service<Request> for RequestId<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Then<Pin<Box<TaskLocalFuture<String, S::Future>>>, SetHeader>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let rid = ids::new_id("req_");
        let header = HeaderValue::from_str(&rid).unwrap_or(HeaderValue::from_static("req_"));
        // The layers inside answer some requests from `call` already (a header limit's envelope
        // names the id), so the id is in scope there as well as in their futures.
        let fut = REQUEST_ID.sync_scope(rid.clone(), || self.0.call(req));
        Then::new(Box::pin(REQUEST_ID.scope(rid, fut)), SetHeader(header))
    }
}
