//! The call task's handle: `CallHandle` (cheap to clone, one per call) and the commands it sends
//! the task, and the participant ids of operators and interpreters.

use super::{Asker, CallTaskError, CallUpdate, Control, CALLER};
use crate::domain::{CallId, CaseNumber, EndedBy, InterpreterId, Language, ParticipantId};
use crate::drivers::media::MediaEvent;
use crate::protocol::{CallView, LeftReason};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, oneshot};

type Reply<T> = oneshot::Sender<Result<T, CallTaskError>>;

pub(super) enum Command {
    Attach(ParticipantId, Reply<CallView>),
    Detach(ParticipantId),
    Answer(ParticipantId, String, Reply<()>),
    Invite(InterpreterId, Reply<()>),
    /// Take back an invitation not yet used (the interpreter was let go before joining).
    Uninvite(InterpreterId, Reply<()>),
    JoinInterpreter(InterpreterId, Reply<ParticipantId>),
    /// A supervisor (account name) joins, listening.
    JoinSupervisor(String, Reply<ParticipantId>),
    /// Take a participant out, with the reason the others are told.
    Remove(ParticipantId, LeftReason, Reply<()>),
    Offer(ParticipantId, String, Reply<String>),
    Candidate(ParticipantId, String, Reply<()>),
    Control(Control, Reply<()>),
    HangUp(EndedBy, Reply<()>),
    View(Reply<CallView>),
    /// The call's case, opened or linked.
    SetCase(CaseNumber),
    /// The case a returning caller named.
    Returning(CaseNumber),
    /// The caller, asked after the longest queue wait, keeps waiting.
    KeepWaiting(Reply<()>),
    /// May the caller leave a number now? The call's language when known.
    KeepingNumber(Asker, Reply<Option<Language>>),
    NotKept,
    /// The caller's callback request is kept (the number masked, for the log): the call ends.
    KeptNumber(String, Asker, Reply<()>),
    LeftNumber(String, Asker, Reply<()>),
    /// The operator asks for the case number to be read out to the phone caller.
    ReadCaseNumber(Reply<()>),
    /// The operator's brief for the interpreter (checked), or none.
    Brief(Option<String>, Reply<()>),
    /// The case's category, as the operator set it.
    Category(Option<String>),
    Media(MediaEvent),
}

/// Cheap to clone; every clone talks to the same call task.
#[derive(Clone)]
pub struct CallHandle {
    pub(super) id: CallId,
    pub(super) token_sha256: Arc<str>,
    pub(super) commands: mpsc::Sender<Command>,
    pub(super) updates: broadcast::Sender<CallUpdate>,
}

impl CallHandle {
    pub fn id(&self) -> &CallId {
        &self.id
    }

    /// Whether `token` is this call's caller token (constant time).
    pub fn caller_token_matches(&self, token: &str) -> bool {
        crate::auth::matches_sha256(token, &self.token_sha256)
    }

    pub fn caller() -> ParticipantId {
        ParticipantId::parse(CALLER).unwrap_or_else(|_| ParticipantId::random())
    }

    /// Updates for sessions; subscribe before `attach` so nothing is missed.
    pub fn subscribe(&self) -> broadcast::Receiver<CallUpdate> {
        self.updates.subscribe()
    }

    /// A session for `participant` (already in the call) opens; returns the call as it is now.
    pub async fn attach(&self, participant: ParticipantId) -> Result<CallView, CallTaskError> {
        self.ask(|r| Command::Attach(participant, r)).await
    }

    /// A session closed; without a new one within the grace time the participant leaves.
    pub async fn detach(&self, participant: ParticipantId) {
        let _ = self.commands.send(Command::Detach(participant)).await;
    }

    /// An operator answers (or takes over a call whose operator left). Idempotent.
    pub async fn answer(&self, operator: ParticipantId, name: String) -> Result<(), CallTaskError> {
        self.ask(|r| Command::Answer(operator, name, r)).await
    }

    /// Allows interpreter `iid` to join (the operator's invitation or the dispatcher's accepted
    /// offer); the interpreter's console then joins with `join_interpreter`.
    pub async fn add_interpreter(&self, iid: InterpreterId) -> Result<(), CallTaskError> {
        self.ask(|r| Command::Invite(iid, r)).await
    }

    /// Takes back `iid`'s invitation if they have not joined yet (they were let go before an
    /// operator answered). Idempotent.
    pub async fn uninvite(&self, iid: InterpreterId) -> Result<(), CallTaskError> {
        self.ask(|r| Command::Uninvite(iid, r)).await
    }

    /// A supervisor enters the call, listening; returns its participant id. Idempotent.
    pub async fn join_supervisor(&self, name: String) -> Result<ParticipantId, CallTaskError> {
        self.ask(|r| Command::JoinSupervisor(name, r)).await
    }

    /// An invited interpreter enters the call; returns its participant id. Idempotent.
    pub async fn join_interpreter(
        &self,
        iid: InterpreterId,
    ) -> Result<ParticipantId, CallTaskError> {
        self.ask(|r| Command::JoinInterpreter(iid, r)).await
    }

    /// Takes a participant out of the call (the caller: the call ends).
    pub async fn remove_participant(&self, p: ParticipantId) -> Result<(), CallTaskError> {
        self.ask(|r| Command::Remove(p, LeftReason::Removed, r))
            .await
    }

    /// A participant leaves the call of their own accord (the caller: the call ends).
    pub async fn leave(&self, p: ParticipantId) -> Result<(), CallTaskError> {
        self.ask(|r| Command::Remove(p, LeftReason::YouLeft, r))
            .await
    }

    /// A participant's connection was lost for good (a phone hung up): as a console that does
    /// not come back, so a lost interpreter is replaced.
    pub async fn lost(&self, p: ParticipantId) -> Result<(), CallTaskError> {
        self.ask(|r| Command::Remove(p, LeftReason::Disconnected, r))
            .await
    }

    /// The participant's WebRTC offer; returns the media plane's answer.
    pub async fn offer(&self, p: ParticipantId, sdp: String) -> Result<String, CallTaskError> {
        self.ask(|r| Command::Offer(p, sdp, r)).await
    }

    pub async fn candidate(
        &self,
        p: ParticipantId,
        candidate: String,
    ) -> Result<(), CallTaskError> {
        self.ask(|r| Command::Candidate(p, candidate, r)).await
    }

    pub async fn control(&self, control: Control) -> Result<(), CallTaskError> {
        self.ask(|r| Command::Control(control, r)).await
    }

    /// The hotline ends the call (the node stopping, an administrator, a lost node).
    pub async fn hang_up(&self) -> Result<(), CallTaskError> {
        self.end(EndedBy::Hotline).await
    }

    /// Ends the call; its parties are told it was `by` (a caller's or operator's hang-up).
    pub async fn end(&self, by: EndedBy) -> Result<(), CallTaskError> {
        self.ask(|r| Command::HangUp(by, r)).await
    }

    /// The caller answers the long-wait question: keep waiting (the wait starts again).
    pub async fn keep_waiting(&self) -> Result<(), CallTaskError> {
        self.ask(Command::KeepWaiting).await
    }

    /// The caller's number to be called back is about to be kept: refused unless they may
    /// leave one now (on the page: while the long-wait question is open; on the phone: while no
    /// operator is with them) and are not leaving one already. Until `kept_number` or
    /// `not_kept`, no operator answers the call; the call's language when known.
    pub async fn keeping_number(&self, by: Asker) -> Result<Option<Language>, CallTaskError> {
        self.ask(|r| Command::KeepingNumber(by, r)).await
    }

    /// The number was not kept after all (`keeping_number`): the call may be answered again.
    pub async fn not_kept(&self) {
        let _ = self.commands.send(Command::NotKept).await;
    }

    /// The caller's callback request is kept (`masked`: the number as logs show it) and the
    /// caller hears the goodbye: no operator answers the call now, and it ends by callback,
    /// by `left_number` or by the caller hanging up.
    pub async fn kept_number(&self, masked: String, by: Asker) -> Result<(), CallTaskError> {
        self.ask(|r| Command::KeptNumber(masked, by, r)).await
    }

    /// The caller's callback request is kept (`masked`: the number as logs show it): the call
    /// ends, `ended_by` callback.
    pub async fn left_number(&self, masked: String, by: Asker) -> Result<(), CallTaskError> {
        self.ask(|r| Command::LeftNumber(masked, by, r)).await
    }

    pub async fn view(&self) -> Result<CallView, CallTaskError> {
        self.ask(Command::View).await
    }

    /// Has the call's case number read out to its phone caller (`CallUpdate::ReadCaseNumber`,
    /// which the phone's greeter plays). Refused while the call has no case, or when its caller
    /// is not on a phone (a page shows the number).
    pub async fn read_case_number(&self) -> Result<(), CallTaskError> {
        self.ask(Command::ReadCaseNumber).await
    }

    /// The operator's brief for the interpreters rung from now on (`None` clears it); answered
    /// once the call has it, so a request sent next rings with it.
    pub async fn set_brief(&self, brief: Option<String>) -> Result<(), CallTaskError> {
        self.ask(|reply| Command::Brief(brief, reply)).await
    }

    /// The case's category, shown to the interpreter in the call.
    pub async fn set_case_category(&self, category: Option<String>) {
        let _ = self.commands.send(Command::Category(category)).await;
    }

    /// Gives the call its case number; everyone in it sees it with the next state.
    pub async fn set_case(&self, number: CaseNumber) {
        let _ = self.commands.send(Command::SetCase(number)).await;
    }

    /// A returning caller named case `number`: the call is linked to it when answered.
    pub async fn set_returning_case(&self, number: CaseNumber) {
        let _ = self.commands.send(Command::Returning(number)).await;
    }

    /// For the media event router: never waits (levels are dropped when the task is busy).
    pub(crate) fn media_event(&self, ev: MediaEvent) -> bool {
        self.commands.try_send(Command::Media(ev)).is_ok()
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, CallTaskError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| CallTaskError::Gone)?;
        rx.await.map_err(|_| CallTaskError::Gone)?
    }
}

/// The operator's participant id for an account name, the interpreter's for an id.
pub fn operator_participant(name: &str) -> ParticipantId {
    participant_for("op-", name)
}

pub fn supervisor_participant(name: &str) -> ParticipantId {
    participant_for("sup-", name)
}

pub fn interpreter_participant(iid: &InterpreterId) -> ParticipantId {
    participant_for("int-", iid.as_str())
}

fn participant_for(prefix: &str, name: &str) -> ParticipantId {
    ParticipantId::parse(&format!("{prefix}{name}")).unwrap_or_else(|_| {
        let h = crate::auth::sha256_hex(name);
        ParticipantId::parse(&format!("{prefix}{}", &h[..24]))
            .unwrap_or_else(|_| ParticipantId::random())
    })
}
