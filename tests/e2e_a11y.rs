//! Accessibility of the pages: axe-core (vendored, tests/js/vendor/axe-core) runs in real headless
//! Chromium on the index, the caller page and each staff page's login as they open, on the
//! supervisors' live board and on the caller page while waiting, and finds no serious or critical
//! violation. The other states behind a login are for later tests.
use crate::common;

use common::browser::Browser;
use common::spawn_app;
use common::supervisors::{with_supervisor, SUPERVISOR, SUPERVISOR_PASSWORD};
use common::ws::settings_with_operator;
use hotline_bridge::app::build_state;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_as_it_opens_has_no_serious_accessibility_violation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = with_supervisor(settings_with_operator());
    settings.records.database = format!("sqlite://{}", dir.path().join("hotline.db").display());
    let app = spawn_app(build_state(settings).await.expect("state")).await;

    let b = Browser::launch("en", None).await;
    for page in [
        "/",
        "/call",
        "/operator",
        "/interpreter",
        "/university",
        "/supervisor",
        "/dashboard",
    ] {
        b.client.goto(&app.url(page)).await.expect("goto");
        b.wait_for(
            &format!("{page} loaded"),
            "document.readyState === 'complete' && document.querySelector('h1') !== null",
            STEP,
        )
        .await;
        b.axe(&format!("{page} as it opens")).await;
    }

    // Behind a login: the supervisors' board, live.
    b.type_into("#name", SUPERVISOR).await;
    b.type_into("#password", SUPERVISOR_PASSWORD).await;
    b.click("#login-form button[type=submit]").await;
    b.wait_for(
        "board live",
        "!document.getElementById('board').hidden \
         && document.getElementById('link').dataset.state === 'online' \
         && window.hotline.updates >= 1",
        STEP,
    )
    .await;
    b.axe("/dashboard's live board").await;

    // The caller waiting in the queue.
    b.client.goto(&app.url("/call")).await.expect("goto");
    b.click("#call").await;
    b.wait_for("waiting", "window.hotline.state === 'waiting'", STEP)
        .await;
    b.axe("/call while waiting").await;
    b.close().await;
}
