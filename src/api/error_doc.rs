//! The error answer as the OpenAPI document shows it: the body's shape, and the refusals a route
//! lists in its `responses(…)`. A leaf, so handlers and the document both use it.

use serde::Serialize;
use utoipa::ToSchema;

/// The shape of every error answer.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine code: unauthorized, forbidden, not_found, invalid, conflict, too_large, …
    #[schema(example = "invalid")]
    pub code: String,
    /// For people.
    pub message: String,
    /// The request field at fault, when there is one (shown next to that field by pages).
    #[schema(example = "shifts")]
    pub field: Option<String>,
}

/// Documents, in a route's `responses(…)`, the refusals listed.
pub(crate) fn refusals(
    list: &[(&str, &str)],
) -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
    list.iter()
        .map(|(status, what)| {
            let r = utoipa::openapi::ResponseBuilder::new().description(*what);
            ((*status).to_owned(), r.build().into())
        })
        .collect()
}
