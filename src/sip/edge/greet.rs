//! A phone caller's greeting, started once its audio is bridged: the `greeter` task, stopped with
//! the leg.

use super::Edge;
use crate::domain::{CallbackNumber, Language};
use crate::drivers::call::CallHandle;
use crate::sip::greeter::task::{self as greeting, CallBack, Greeting};
use tokio_util::sync::CancellationToken;

impl Edge {
    /// The caller hears the menu (no language from the number) or that they are being
    /// connected, then their queue position and the comfort tone, until the operator answers.
    /// On a hotline that keeps a record, the caller is offered a call-back after a long wait: at
    /// their number (`caller`, as the trunk gave it) when it is one to call back, else at one
    /// they key in.
    pub(super) fn greet(
        &self,
        call: &CallHandle,
        known: Option<Language>,
        caller: Option<&str>,
        stop: &CancellationToken,
    ) {
        let number = caller.and_then(|n| CallbackNumber::parse(n).ok());
        let callback = self
            .offers
            .callback
            .as_ref()
            .map(|(records, after)| CallBack {
                number,
                after: *after,
                records: records.clone(),
            });
        let g = Greeting {
            call: call.clone(),
            known,
            languages: self.languages.clone(),
            menu_timeout: std::time::Duration::from_secs(self.settings.menu_timeout_s),
            recorded: self.offers.recorded,
            callback,
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
