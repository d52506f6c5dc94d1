//! A phone caller's greeting, started once its audio is bridged: the `greeter` task, stopped with
//! the leg.

use super::Edge;
use crate::domain::Language;
use crate::drivers::call::CallHandle;
use crate::sip::greeter::task::{self as greeting, Greeting};
use tokio_util::sync::CancellationToken;

impl Edge {
    /// The caller hears the menu (no language from the number) or that they are being
    /// connected, then their queue position and the comfort tone, until the operator answers.
    pub(super) fn greet(
        &self,
        call: &CallHandle,
        known: Option<Language>,
        stop: &CancellationToken,
    ) {
        let g = Greeting {
            call: call.clone(),
            known,
            languages: self.languages.clone(),
            menu_timeout: std::time::Duration::from_secs(self.settings.menu_timeout_s),
            recorded: self.recorded,
        };
        self.lifecycle.spawn(greeting::run(
            g,
            self.calls.clone(),
            self.media.clone(),
            self.prompts.clone(),
            stop.child_token(),
        ));
    }
}
