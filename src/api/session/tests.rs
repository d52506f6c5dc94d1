//! Session logic over in-memory channels (no socket, no media plane): authentication by token,
//! role checks, malformed input and what the session answers to each.

use super::*;
use crate::config::Settings;
use crate::drivers::call::operator_participant;
use crate::drivers::clock::now_ms;
use crate::protocol::{CallState, LanguageSource, LanguageView, LeftReason};
use futures::channel::mpsc;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(5);

struct Client {
    to_server: mpsc::UnboundedSender<Result<Message, axum::Error>>,
    from_server: mpsc::UnboundedReceiver<Message>,
}

#[derive(Debug)]
enum Got {
    Msg(Box<ServerMessage>),
    Close(u16, String),
    Gone,
}

impl Client {
    fn start(state: &AppState) -> Self {
        let (to_server, read) = mpsc::unbounded();
        let (write, from_server) = mpsc::unbounded();
        tokio::spawn(run(state.clone(), write, read));
        Self {
            to_server,
            from_server,
        }
    }

    fn text(&self, t: &str) {
        self.to_server
            .unbounded_send(Ok(Message::Text(t.to_owned().into())))
            .expect("session alive");
    }

    fn json(&self, v: serde_json::Value) {
        self.text(&v.to_string());
    }

    async fn next(&mut self) -> Got {
        match tokio::time::timeout(WAIT, self.from_server.next()).await {
            Err(_) => panic!("no message from the session within {WAIT:?}"),
            Ok(None) => Got::Gone,
            Ok(Some(Message::Text(t))) => Got::Msg(Box::new(
                serde_json::from_str(t.as_str()).expect("server JSON"),
            )),
            Ok(Some(Message::Close(Some(f)))) => Got::Close(f.code, f.reason.to_string()),
            Ok(Some(other)) => panic!("unexpected frame {other:?}"),
        }
    }

    async fn msg(&mut self) -> ServerMessage {
        match self.next().await {
            Got::Msg(m) => *m,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// The next message of the given `type`, skipping others (levels, queue…).
    async fn wait_for(&mut self, kind: &str) -> ServerMessage {
        loop {
            let m = self.msg().await;
            let v = serde_json::to_value(&m).expect("json");
            if v["type"] == kind {
                return m;
            }
        }
    }

    async fn error_code(&mut self) -> ErrorCode {
        match self.wait_for("error").await {
            ServerMessage::Error { code, .. } => code,
            _ => unreachable!(),
        }
    }
}

fn state() -> AppState {
    let mut s = Settings::load_with_env(None, Vec::new()).expect("defaults");
    s.roster.file = String::new();
    AppState::in_memory(s)
}

fn pt() -> LanguageView {
    LanguageView {
        code: crate::domain::Language::parse("pt").ok(),
        source: LanguageSource::Chosen,
        confidence: 1.0,
    }
}

#[tokio::test]
async fn bad_json_and_unknown_types_get_errors_and_the_session_goes_on() {
    let st = state();
    let mut c = Client::start(&st);
    c.text("{not json");
    assert_eq!(c.error_code().await, ErrorCode::BadJson);
    c.json(json!({"type": "teleport"}));
    assert_eq!(c.error_code().await, ErrorCode::UnknownType);
    c.json(json!({"type": "hold"}));
    assert_eq!(c.error_code().await, ErrorCode::Invalid);
    c.json(json!({"type": "hold", "on": true}));
    assert_eq!(c.error_code().await, ErrorCode::HelloFirst);
    c.json(json!({"type": "ping", "nonce": 9}));
    assert!(matches!(c.msg().await, ServerMessage::Pong { nonce: 9 }));
}

#[tokio::test]
async fn a_wrong_token_is_refused_and_the_session_closed_with_a_reason() {
    let st = state();
    let mut c = Client::start(&st);
    c.json(json!({"type": "hello", "token": "nope"}));
    assert_eq!(c.error_code().await, ErrorCode::Unauthorized);
    match c.next().await {
        Got::Close(code, reason) => {
            assert_eq!(code, 1008);
            assert_eq!(reason, "unauthorized");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn a_caller_token_opens_only_its_own_call() {
    let st = state();
    let (a, token_a) = st.calls.create(pt());
    let (b, _) = st.calls.create(pt());

    let mut other = Client::start(&st);
    other.json(json!({"type": "hello", "token": token_a, "call_id": b.id()}));
    assert_eq!(other.error_code().await, ErrorCode::Unauthorized);
    assert!(matches!(other.next().await, Got::Close(1008, _)));

    let mut own = Client::start(&st);
    own.json(json!({"type": "hello", "token": token_a, "call_id": a.id()}));
    match own.msg().await {
        ServerMessage::Welcome { role, call_id, .. } => {
            assert_eq!(role, Role::Caller);
            assert_eq!(call_id.as_ref(), Some(a.id()));
        }
        m => panic!("expected welcome, got {m:?}"),
    }
    match own.wait_for("call_state").await {
        ServerMessage::CallState { call } => {
            assert_eq!(call.state, CallState::Queued);
            assert_eq!(call.position, Some(1), "first of two queued calls");
        }
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn callers_may_not_send_operator_controls() {
    let st = state();
    let (a, token) = st.calls.create(pt());
    let mut c = Client::start(&st);
    c.json(json!({"type": "hello", "token": token, "call_id": a.id()}));
    c.wait_for("call_state").await;
    for m in [
        json!({"type": "hold", "on": true}),
        json!({"type": "consult", "on": true}),
        json!({"type": "answer_call", "call_id": a.id()}),
        json!({"type": "mute", "participant": "op-wang", "muted": true}),
    ] {
        c.json(m.clone());
        assert_eq!(c.error_code().await, ErrorCode::Forbidden, "{m}");
    }
    // Still alive and still itself.
    c.json(json!({"type": "ping", "nonce": 1}));
    assert!(matches!(
        c.wait_for("pong").await,
        ServerMessage::Pong { nonce: 1 }
    ));
}

#[tokio::test]
async fn an_oversized_message_is_refused_and_the_session_closed_with_1009() {
    let st = state();
    let mut c = Client::start(&st);
    let sdp = "a".repeat(MAX_MESSAGE_BYTES + 1);
    c.json(json!({"type": "offer", "sdp": sdp}));
    assert_eq!(c.error_code().await, ErrorCode::TooLarge);
    assert!(matches!(c.next().await, Got::Close(1009, _)));
}

#[tokio::test]
async fn an_operator_sees_the_queue_answers_and_the_caller_sees_it() {
    let st = state();
    let (call, token) = st.calls.create(pt());
    let mut caller = Client::start(&st);
    caller.json(json!({"type": "hello", "token": token, "call_id": call.id()}));
    caller.wait_for("call_state").await;

    let (op_token, _) = st.operators.open("wang", now_ms());
    let mut op = Client::start(&st);
    op.json(json!({"type": "hello", "token": op_token}));
    assert!(matches!(
        op.msg().await,
        ServerMessage::Welcome {
            role: Role::Operator,
            ..
        }
    ));
    match op.wait_for("queue").await {
        ServerMessage::Queue { calls, .. } => {
            assert_eq!(calls.len(), 1);
            assert_eq!(&calls[0].call_id, call.id());
            assert_eq!(calls[0].language.source, LanguageSource::Chosen);
        }
        _ => unreachable!(),
    }
    op.json(json!({"type": "answer_call", "call_id": call.id()}));
    match op.wait_for("joined").await {
        ServerMessage::Joined { participant, .. } => assert_eq!(participant.as_str(), "op-wang"),
        _ => unreachable!(),
    }
    match caller.wait_for("call_state").await {
        ServerMessage::CallState { call } => {
            assert_eq!(call.state, CallState::Answered);
            assert_eq!(call.position, None);
            assert_eq!(call.participants.len(), 2);
        }
        _ => unreachable!(),
    }
    // Without a media plane an offer is refused cleanly.
    op.json(json!({"type": "offer", "sdp": "v=0"}));
    assert_eq!(op.error_code().await, ErrorCode::Media);
    // Hold works once answered; consult needs an interpreter.
    op.json(json!({"type": "consult", "on": true}));
    assert_eq!(op.error_code().await, ErrorCode::Conflict);
    op.json(json!({"type": "hang_up"}));
    match caller.wait_for("left").await {
        ServerMessage::Left { reason, .. } => assert_eq!(reason, LeftReason::CallEnded),
        _ => unreachable!(),
    }
    assert!(matches!(caller.next().await, Got::Close(1000, _)));
}

#[tokio::test]
async fn an_interpreter_token_joins_only_a_call_it_was_invited_to() {
    use crate::domain::{InterpreterProfile, LanguageSkill, Level, UniversityId, WeeklySchedule};
    let st = state();
    let iid = InterpreterId::parse("u-pt-1").expect("id");
    let secret = "s3cret-token";
    let token = format!("{iid}.{secret}");
    let profile = InterpreterProfile {
        id: iid.clone(),
        university: UniversityId::parse("u").expect("id"),
        name: "Ana".into(),
        languages: vec![LanguageSkill {
            language: crate::domain::Language::parse("pt").expect("pt"),
            level: Level::Native,
        }],
        schedule: WeeklySchedule {
            timezone: crate::domain::TimeZoneName::parse("Europe/Lisbon").expect("tz"),
            shifts: vec![],
        },
        token_sha256: Some(crate::auth::sha256_hex(&token)),
        phone: None,
        ring: Default::default(),
    };
    st.pool.upsert(&profile).await.expect("upsert");
    let (call, _) = st.calls.create(pt());
    call.answer(operator_participant("wang"), "wang".into())
        .await
        .expect("answer");

    let mut bad = Client::start(&st);
    bad.json(json!({"type": "hello", "token": format!("{iid}.wrong")}));
    assert_eq!(bad.error_code().await, ErrorCode::Unauthorized);

    let mut c = Client::start(&st);
    c.json(json!({"type": "hello", "token": token}));
    assert!(matches!(
        c.msg().await,
        ServerMessage::Welcome {
            role: Role::Interpreter,
            ..
        }
    ));
    c.json(json!({"type": "join_call", "call_id": call.id()}));
    assert_eq!(
        c.error_code().await,
        ErrorCode::Forbidden,
        "not invited yet"
    );
    c.json(json!({"type": "hang_up"}));
    assert_eq!(
        c.error_code().await,
        ErrorCode::Forbidden,
        "interpreters cannot hang up"
    );
    call.add_interpreter(iid.clone()).await.expect("invite");
    c.json(json!({"type": "join_call", "call_id": call.id()}));
    match c.wait_for("call_state").await {
        ServerMessage::CallState { call } => {
            assert_eq!(call.state, CallState::Interpreted);
            assert!(call.invited.is_empty());
        }
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn a_reconnecting_operator_gets_its_call_back_without_answering_again() {
    let st = state();
    let (call, _) = st.calls.create(pt());
    let (token, _) = st.operators.open("wang", now_ms());
    let mut first = Client::start(&st);
    first.json(json!({"type": "hello", "token": token}));
    first.json(json!({"type": "answer_call", "call_id": call.id()}));
    first.wait_for("joined").await;
    drop(first);

    let mut again = Client::start(&st);
    again.json(json!({"type": "hello", "token": token}));
    match again.wait_for("joined").await {
        ServerMessage::Joined {
            call_id,
            participant,
            ..
        } => {
            assert_eq!(&call_id, call.id());
            assert_eq!(participant.as_str(), "op-wang");
        }
        _ => unreachable!(),
    }
    match again.wait_for("call_state").await {
        ServerMessage::CallState { call } => assert_eq!(call.state, CallState::Answered),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn a_call_whose_operator_leaves_is_queued_again_for_another_operator() {
    let st = state();
    let (call, token) = st.calls.create(pt());
    let mut caller = Client::start(&st);
    caller.json(json!({"type": "hello", "token": token, "call_id": call.id()}));
    caller.wait_for("call_state").await;
    let (wang, _) = st.operators.open("wang", now_ms());
    let mut op = Client::start(&st);
    op.json(json!({"type": "hello", "token": wang}));
    op.json(json!({"type": "answer_call", "call_id": call.id()}));
    op.wait_for("joined").await;
    op.json(json!({"type": "leave_call"}));
    op.wait_for("left").await;

    // The caller is told it waits again, with a place in the queue.
    loop {
        if let ServerMessage::CallState { call } = caller.wait_for("call_state").await {
            if call.position == Some(1) && call.participants.len() == 1 {
                break;
            }
        }
    }
    let (li, _) = st.operators.open("li", now_ms());
    let mut other = Client::start(&st);
    other.json(json!({"type": "hello", "token": li}));
    match other.wait_for("queue").await {
        ServerMessage::Queue { calls, .. } => assert_eq!(&calls[0].call_id, call.id()),
        _ => unreachable!(),
    }
    other.json(json!({"type": "answer_call", "call_id": call.id()}));
    other.wait_for("joined").await;
    loop {
        if let ServerMessage::CallState { call } = caller.wait_for("call_state").await {
            // Callers see staff by role only (the operator is now li).
            if call.participants.iter().any(|p| p.role == Role::Operator) {
                assert_eq!(call.position, None);
                break;
            }
        }
    }
    assert!(st.calls.queue().borrow().is_empty());
}

/// The next call state the client receives that `pred` accepts.
async fn call_state_where(c: &mut Client, pred: impl Fn(&CallView) -> bool) -> CallView {
    loop {
        if let ServerMessage::CallState { call } = c.wait_for("call_state").await {
            if pred(&call) {
                return call;
            }
        }
    }
}

#[tokio::test]
async fn a_caller_is_told_who_muted_them_and_who_ended_the_call() {
    let st = state();
    let (call, token) = st.calls.create(pt());
    let mut caller = Client::start(&st);
    caller.json(json!({"type": "hello", "token": token, "call_id": call.id()}));
    let me = match caller.wait_for("joined").await {
        ServerMessage::Joined { participant, .. } => participant,
        _ => unreachable!(),
    };
    let (op_token, _) = st.operators.open("wang", now_ms());
    let mut op = Client::start(&st);
    op.json(json!({"type": "hello", "token": op_token}));
    op.wait_for("queue").await;
    op.json(json!({"type": "answer_call", "call_id": call.id()}));
    op.wait_for("joined").await;

    let mine = |v: &CallView| v.participants.iter().find(|p| p.id == me).cloned();
    op.json(json!({"type": "mute", "participant": me, "muted": true}));
    let v = call_state_where(&mut caller, |v| mine(v).is_some_and(|p| p.muted)).await;
    assert_eq!(mine(&v).and_then(|p| p.muted_by), Some(Role::Operator));

    // Unmuting themselves ends the operator's mute; muting themselves names nobody.
    caller.json(json!({"type": "mute", "participant": me, "muted": false}));
    let v = call_state_where(&mut caller, |v| mine(v).is_some_and(|p| !p.muted)).await;
    assert_eq!(mine(&v).and_then(|p| p.muted_by), None);
    caller.json(json!({"type": "mute", "participant": me, "muted": true}));
    let v = call_state_where(&mut caller, |v| mine(v).is_some_and(|p| p.muted)).await;
    assert_eq!(mine(&v).and_then(|p| p.muted_by), None);
    assert_eq!(v.ended_by, None);

    op.json(json!({"type": "hang_up"}));
    let v = call_state_where(&mut caller, |v| v.state.is_final()).await;
    assert_eq!(v.ended_by, Some(crate::domain::EndedBy::Operator));
}

#[tokio::test]
async fn a_caller_who_hangs_up_is_named_as_having_ended_the_call() {
    let st = state();
    let (call, token) = st.calls.create(pt());
    let mut caller = Client::start(&st);
    caller.json(json!({"type": "hello", "token": token, "call_id": call.id()}));
    caller.wait_for("joined").await;
    let (op_token, _) = st.operators.open("wang", now_ms());
    let mut op = Client::start(&st);
    op.json(json!({"type": "hello", "token": op_token}));
    op.wait_for("queue").await;
    op.json(json!({"type": "answer_call", "call_id": call.id()}));
    op.wait_for("joined").await;
    caller.json(json!({"type": "hang_up"}));
    let v = call_state_where(&mut op, |v| v.state.is_final()).await;
    assert_eq!(v.ended_by, Some(crate::domain::EndedBy::Caller));
}
