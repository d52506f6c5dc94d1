//! The story's three parties and their pages: each page a headless Chromium of its own, with
//! waits, clicks and screenshots that name the step and the party when they fail.

use super::report::Report;
use crate::common::browser::Browser;
use fantoccini::Locator;
use std::time::{Duration, Instant};

/// Longest wait for one step of the story (slow, shared CI machines).
pub const STEP: Duration = Duration::from_secs(30);

/// The JS condition "this page's media leg is connected".
pub const MEDIA_UP: &str =
    "window.hotline.media && window.hotline.media.pc.connectionState === 'connected'";

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Who {
    Caller,
    Operator,
    Interpreter,
}

impl Who {
    pub fn name(self) -> &'static str {
        match self {
            Who::Caller => "caller",
            Who::Operator => "operator",
            Who::Interpreter => "interpreter",
        }
    }
    pub fn from_role(role: &str) -> Option<Who> {
        match role {
            "caller" => Some(Who::Caller),
            "operator" => Some(Who::Operator),
            "interpreter" => Some(Who::Interpreter),
            _ => None,
        }
    }
}

/// One page of the story.
pub struct Page {
    pub who: Who,
    pub b: Browser,
}

impl Page {
    pub async fn wait(&self, step: &str, condition: &str) -> Duration {
        let t = Instant::now();
        self.b
            .wait_for(&format!("{step} ({})", self.who.name()), condition, STEP)
            .await;
        t.elapsed()
    }

    pub async fn click(&self, step: &str, css: &str) {
        self.b
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{step}: {} has no {css}: {e}", self.who.name()))
            .click()
            .await
            .unwrap_or_else(|e| panic!("{step}: {} cannot click {css}: {e}", self.who.name()));
    }

    /// Saves `target/e2e/story-<name>.png` and lists it in the report.
    pub async fn shot(&self, name: &str, report: &mut Report) {
        let path = self.b.screenshot(&format!("story-{name}")).await;
        report.shots.push(path.display().to_string());
    }
}
