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
        ClientMessage::RequestInterpreter { language: None },
        ClientMessage::CancelInterpreter,
        ClientMessage::RemoveInterpreter,
        ClientMessage::ReplaceInterpreter,
        ClientMessage::KeepWaiting,
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
    let js = include_str!("../../web/js/signaling.js");
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
        "long_wait",
        "draining",
        "error",
    ];
    for t in ClientMessage::TYPES.iter().chain(server.iter()) {
        assert!(
            js.contains(&format!("\"{t}\"")),
            "{t} missing in signaling.js"
        );
    }
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
            created_at: 1,
            answered_at: None,
            ended_at: None,
            invited: vec![],
        },
    };
    let v = serde_json::to_value(&m).expect("json");
    assert_eq!(v["type"], "call_state");
    assert_eq!(v["call"]["state"], "queued");
    assert_eq!(v["call"]["language"]["source"], "chosen");
    assert_eq!(v["call"]["position"], 2);
}
