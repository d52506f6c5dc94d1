//! The web pages, embedded from `web/` at build time: `/` is `index.html`, `/{name}` is
//! `web/{name}.html`, and assets are served by path (`/css/…`, `/js/…`). No build step.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rust_embed::RustEmbed;

use super::ApiError;
use crate::api::state::AppState;

#[derive(RustEmbed)]
#[folder = "web/"]
struct Web;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { file("index.html") }))
        .route("/{*path}", get(page_or_asset))
}

async fn page_or_asset(Path(path): Path<String>) -> Response {
    if path.starts_with("api/") || path.contains("..") {
        return ApiError::not_found(format!("no such resource /{path}")).into_response();
    }
    if !path.contains('.') {
        return file(&format!("{path}.html"));
    }
    file(&path)
}

fn file(path: &str) -> Response {
    match Web::get(path) {
        Some(f) => {
            let mime = mime_guess::from_path(path).first_or_octet_stream();
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, mime.as_ref().to_owned()),
                    (header::CACHE_CONTROL, "no-cache".to_owned()),
                ],
                f.data.into_owned(),
            )
                .into_response()
        }
        None => ApiError::not_found(format!("no such page /{path}")).into_response(),
    }
}
