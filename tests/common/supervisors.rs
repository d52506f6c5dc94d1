//! A supervisor account for tests (cheap argon2, like the test operator's) and its login.

use serde_json::Value;

pub const SUPERVISOR: &str = "zhao";
pub const SUPERVISOR_PASSWORD: &str = "wall display 42";

/// `settings` with supervisor `zhao` added.
pub fn with_supervisor(
    mut settings: hotline_bridge::config::Settings,
) -> hotline_bridge::config::Settings {
    settings.supervisors.insert(
        SUPERVISOR.into(),
        hotline_bridge::config::SupervisorAccount {
            password_argon2: super::ws::cheap_argon2(SUPERVISOR_PASSWORD),
        },
    );
    settings
}

/// Logs supervisor `zhao` in over HTTP (`base`: the app's URL); returns the session token.
pub async fn supervisor_login(base: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/supervisor/login"))
        .json(&serde_json::json!({"name": SUPERVISOR, "password": SUPERVISOR_PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 200, "supervisor login");
    let v: Value = r.json().await.expect("json");
    v["token"].as_str().expect("token").to_owned()
}
