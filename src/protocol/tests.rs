use super::*;

fn every_client_message() -> Vec<ClientMessage> {
    let call = CallId::parse("c1").expect("id");
    let p = ParticipantId::parse("p1").expect("id");
    vec![
        ClientMessage::Hello {
            token: "t".into(),
            call_id: Some(call.clone()),
        },
        ClientMessage::Offer { sdp: "v=0".into() },
        ClientMessage::IceCandidate {
            candidate: "candidate:1".into(),
        },
        ClientMessage::AnswerCall {
            call_id: call.clone(),
        },
        ClientMessage::JoinCall { call_id: call },
        ClientMessage::LeaveCall,
        ClientMessage::Mute {
            participant: p,
            muted: true,
        },
        ClientMessage::Hold { on: true },
        ClientMessage::Consult { on: false },
        ClientMessage::SetLanguage {
            language: Language::parse("pt").expect("lang"),
        },
        ClientMessage::HangUp,
        ClientMessage::Ping { nonce: 7 },
        ClientMessage::SetAvailability {
            availability: Availability::Available,
        },
        ClientMessage::AcceptOffer {
            offer_id: OfferId::parse("o1").expect("id"),
        },
        ClientMessage::DeclineOffer {
            offer_id: OfferId::parse("o1").expect("id"),
        },
        ClientMessage::RequestInterpreter {
            language: None,
            brief: Some("行李丢失".into()),
        },
        ClientMessage::CancelInterpreter,
        ClientMessage::RemoveInterpreter,
        ClientMessage::ReplaceInterpreter,
        ClientMessage::KeepWaiting,
        ClientMessage::RequestCallback {
            number: "+55 11 98765 4321".into(),
            language: Some("pt".into()),
            description: "aluguel".into(),
        },
        ClientMessage::ReadCaseNumber,
        ClientMessage::Supervise {
            mode: crate::engine::Supervision::Whisper,
        },
    ]
}

#[test]
fn every_client_message_round_trips_and_its_type_is_listed() {
    let all = every_client_message();
    assert_eq!(all.len(), ClientMessage::TYPES.len());
    for m in all {
        let text = serde_json::to_string(&m).expect("json");
        let v: serde_json::Value = serde_json::from_str(&text).expect("value");
        assert_eq!(v["type"], m.kind(), "{text}");
        assert!(ClientMessage::TYPES.contains(&m.kind()));
        assert_eq!(parse_client(&text), Ok(m));
    }
}

/// The names of the JS list `export const <name> = [...]` in signaling.js.
fn js_list(name: &str) -> Vec<String> {
    let js = include_str!("../../web/js/signaling.js");
    let list = js
        .split(&format!("export const {name} = ["))
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .unwrap_or_else(|| panic!("{name} in signaling.js"));
    list.split(',')
        .map(|s| s.trim().trim_matches('"').to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

#[test]
fn signaling_js_lists_every_interpreter_stage_and_ender() {
    use crate::protocol::{EndedBy, InterpreterStage};
    let stages = [
        InterpreterStage::Seeking,
        InterpreterStage::Joining,
        InterpreterStage::Unavailable,
        InterpreterStage::Left,
        InterpreterStage::Replacing,
        InterpreterStage::Stopped,
    ]
    .map(|s| serde_json::to_value(s).expect("stage"));
    let names: Vec<serde_json::Value> = js_list("INTERPRETER_STAGES")
        .into_iter()
        .map(serde_json::Value::String)
        .collect();
    assert_eq!(names, stages);
    let enders = [
        EndedBy::Caller,
        EndedBy::Operator,
        EndedBy::NoReply,
        EndedBy::Callback,
        EndedBy::ConnectionLost,
        EndedBy::Hotline,
    ]
    .map(|e| serde_json::to_value(e).expect("ended_by"));
    let names: Vec<serde_json::Value> = js_list("ENDED_BY")
        .into_iter()
        .map(serde_json::Value::String)
        .collect();
    assert_eq!(names, enders);
}

#[test]
fn signaling_js_lists_every_left_reason() {
    let js = include_str!("../../web/js/signaling.js");
    let list = js
        .split("export const LEFT_REASONS = [")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .expect("LEFT_REASONS in signaling.js");
    for r in [
        LeftReason::YouLeft,
        LeftReason::Removed,
        LeftReason::Disconnected,
        LeftReason::MediaSilent,
        LeftReason::NoReply,
        LeftReason::CallEnded,
    ] {
        let name = serde_json::to_value(r).expect("serialize");
        assert_eq!(name, r.as_str(), "as_str follows serde");
        assert!(
            list.contains(&format!("{name}")),
            "{name} missing in LEFT_REASONS"
        );
    }
}

#[test]
fn signaling_js_lists_every_message_type() {
    let server = [
        "welcome",
        "joined",
        "left",
        "answer",
        "call_state",
        "slots",
        "levels",
        "queue",
        "pong",
        "interpreter_status",
        "ring",
        "offer_ended",
        "invited",
        "dispatch",
        "interpreting",
        "long_wait",
        "draining",
        "error",
    ];
    // Each list exactly, in order: a type the server knows but the page's list lacks is a
    // mirror out of step even if the page sends it somewhere else.
    assert_eq!(js_list("CLIENT_TYPES"), ClientMessage::TYPES);
    assert_eq!(js_list("SERVER_TYPES"), server);
}

#[test]
fn bad_json_unknown_types_and_bad_fields_are_told_apart() {
    assert_eq!(
        parse_client("{nope").map_err(|e| e.0),
        Err(ErrorCode::BadJson)
    );
    assert_eq!(
        parse_client("[1,2]").map_err(|e| e.0),
        Err(ErrorCode::BadJson)
    );
    assert_eq!(
        parse_client(r#"{"type":"teleport"}"#).map_err(|e| e.0),
        Err(ErrorCode::UnknownType)
    );
    assert_eq!(
        parse_client(r#"{"type":"hold"}"#).map_err(|e| e.0),
        Err(ErrorCode::Invalid)
    );
    assert_eq!(
        parse_client(r#"{"type":"answer_call","call_id":"NOT VALID"}"#).map_err(|e| e.0),
        Err(ErrorCode::Invalid)
    );
    assert_eq!(
        parse_client(r#"{"type":"hold","on":true,"extra":1}"#).map_err(|e| e.0),
        Err(ErrorCode::Invalid)
    );
}

#[test]
fn unit_messages_need_only_their_type() {
    assert_eq!(
        parse_client(r#"{"type":"hang_up"}"#),
        Ok(ClientMessage::HangUp)
    );
    assert_eq!(
        parse_client(r#"{"type":"ping"}"#),
        Ok(ClientMessage::Ping { nonce: 0 })
    );
}

#[test]
fn server_messages_are_tagged_snake_case() {
    let m = ServerMessage::Error {
        code: ErrorCode::UnknownType,
        message: "x".into(),
    };
    let v = serde_json::to_value(&m).expect("json");
    assert_eq!(v["type"], "error");
    assert_eq!(v["code"], "unknown_type");
    let m = ServerMessage::CallState {
        call: CallView {
            call_id: CallId::parse("c1").expect("id"),
            state: CallState::Queued,
            language: LanguageView {
                code: Language::parse("pt").ok(),
                source: LanguageSource::Chosen,
                confidence: 1.0,
            },
            participants: vec![],
            hold: false,
            consult: false,
            position: Some(2),
            typical_wait_ms: None,
            created_at: 1,
            answered_at: None,
            ended_at: None,
            ended_by: None,
            invited: vec![],
            case_number: None,
            returning_case: None,
            caller_on_phone: false,
            job_number: "482-913".into(),
            brief: None,
            case_category: None,
        },
    };
    let v = serde_json::to_value(&m).expect("json");
    assert_eq!(v["type"], "call_state");
    assert_eq!(v["call"]["state"], "queued");
    assert_eq!(v["call"]["language"]["source"], "chosen");
    assert_eq!(v["call"]["position"], 2);
}

#[test]
fn a_caller_hears_of_the_search_by_stage_and_never_of_a_withdrawn_offer() {
    use crate::domain::InterpreterId;
    use crate::engine::dispatch::{LostWhy, ProgressEvent as E};
    let iid = InterpreterId::parse("bfsu-pt-01").expect("iid");
    let stage = |e: &E| InterpreterStage::of(e);
    assert_eq!(stage(&E::RingingNext), Some(InterpreterStage::Seeking));
    assert_eq!(
        stage(&E::Waiting { position: 2 }),
        Some(InterpreterStage::Seeking)
    );
    assert_eq!(
        stage(&E::Left {
            interpreter: iid.clone(),
            name: "Li Na".into()
        }),
        Some(InterpreterStage::Left)
    );
    assert_eq!(
        stage(&E::ReplacementRequested {
            lost: iid.clone(),
            why: LostWhy::Disconnected
        }),
        Some(InterpreterStage::Replacing)
    );
    assert_eq!(stage(&E::Cancelled), Some(InterpreterStage::Stopped));
    let offer = crate::domain::OfferId::parse("o1").expect("offer");
    assert_eq!(
        stage(&E::Withdrawn {
            interpreter: iid,
            offer
        }),
        None
    );
}

#[test]
fn a_caller_out_of_the_call_names_who_ended_it() {
    use crate::domain::EndedBy;
    assert_eq!(EndedBy::caller_out(LeftReason::YouLeft), EndedBy::Caller);
    assert_eq!(
        EndedBy::caller_out(LeftReason::Disconnected),
        EndedBy::ConnectionLost
    );
    assert_eq!(EndedBy::caller_out(LeftReason::NoReply), EndedBy::NoReply);
}
