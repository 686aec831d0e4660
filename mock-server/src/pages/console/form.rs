//! A posted form's fields in order, repeated names kept (checkbox groups, the campaign form's
//! numbered fields), which `axum::Form` cannot express.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// The most fields a posted form may have: far more than a campaign with many groups and variants needs, few
/// enough that reading a form stays cheap.
pub const MAX_FIELDS: usize = 10_000;

/// The fields of an `application/x-www-form-urlencoded` body.
#[derive(Clone, Debug, Default)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    /// The first value of `name`, or `""`.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).map_err(|_| {
            (StatusCode::BAD_REQUEST, "The form could not be read.").into_response()
        })?;
        if fields.len() > MAX_FIELDS {
            return Err((
                StatusCode::BAD_REQUEST,
                format!("The form has more than {MAX_FIELDS} fields."),
            )
                .into_response());
        }
        Ok(FormData(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_are_kept_in_order() {
        let f = FormData(serde_urlencoded::from_str("events=a&x=1&events=b&name=%3Cb%3E").unwrap());
        assert_eq!(f.all("events"), ["a", "b"]);
        assert_eq!(f.get("name"), "<b>");
        assert_eq!(f.get("missing"), "");
    }
}
