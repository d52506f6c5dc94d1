//! The call task's side of the media plane: a participant's SDP offer joins them, the routes
//! the engine decides are pushed after every change, and what the media loop reports (connected,
//! lost, levels, silence) feeds the engine's attendance and the sessions' speaking indicators.

use super::{CallTask, CallTaskError, CallUpdate, SPEAKING_BELOW};
use crate::domain::{LegMedia, Millis, ParticipantId};
use crate::drivers::media::MediaEvent;
use crate::engine::CallError;
use crate::protocol::{LevelView, SlotView};
use std::sync::Arc;

impl CallTask {
    pub(super) async fn join_media(
        &mut self,
        p: ParticipantId,
        sdp: String,
    ) -> Result<String, CallTaskError> {
        if self.call.role_of(&p).is_none() {
            return Err(CallError::NotInCall(p).into());
        }
        let media = self.media.clone().ok_or(CallTaskError::NoMedia)?;
        let answer = media.join(self.call.id().clone(), p.clone(), sdp).await?;
        self.media_kinds.insert(p.clone(), LegMedia::Browser);
        self.push_routes().await;
        tracing::info!(call_id = %self.call.id(), participant = %p, "media joined");
        Ok(answer)
    }

    pub(super) fn media_event(&mut self, ev: MediaEvent, now: Millis) {
        match ev {
            MediaEvent::Connected { participant, .. } => {
                // Browsers join through `join_media`; a phone leg is bridged by the SIP edge
                // straight into the media plane, so its first sign here is its connection.
                self.media_kinds
                    .entry(participant.clone())
                    .or_insert(LegMedia::Phone);
                if self.call.media_connected(&participant) {
                    self.broadcast_state();
                }
            }
            MediaEvent::Disconnected { participant, .. } => {
                if self.call.media_lost(&participant, now) {
                    self.broadcast_state();
                }
            }
            MediaEvent::Slots {
                participant, slots, ..
            } => {
                let slots = slots
                    .into_iter()
                    .map(|(mid, participant)| SlotView { mid, participant })
                    .collect();
                let _ = self.updates.send(CallUpdate::Slots { participant, slots });
            }
            MediaEvent::Levels { levels, .. } => {
                // A level means packets arrived since the last report: not silent.
                for (p, _) in &levels {
                    self.call.media_heard(p);
                }
                let levels = levels
                    .into_iter()
                    .map(|(participant, level)| LevelView {
                        participant,
                        level,
                        speaking: level < SPEAKING_BELOW,
                    })
                    .collect();
                let _ = self.updates.send(CallUpdate::Levels(Arc::new(levels)));
            }
            MediaEvent::Silent {
                participant,
                for_ms,
                ..
            } => {
                tracing::debug!(call_id = %self.call.id(), participant = %participant, for_ms, "silent");
                self.call
                    .media_silent(&participant, now.saturating_sub(for_ms));
            }
            // Key presses and prompts are the SIP edge's and the dispatcher's business.
            MediaEvent::Digit { .. } | MediaEvent::PlayoutDone { .. } => {}
        }
    }

    pub(super) async fn push_routes(&self) {
        if let Some(m) = &self.media {
            if let Err(e) = m
                .set_routes(self.call.id().clone(), self.call.routes())
                .await
            {
                tracing::warn!(call_id = %self.call.id(), error = %e, "set_routes failed");
            }
        }
    }
}
