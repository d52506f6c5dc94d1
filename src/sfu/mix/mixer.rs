//! `Mixer`: one call's mix for its phone legs. Every tick each source plays one frame; each phone
//! listener gets the sum of the sources it hears (never itself), soft-clipped and encoded in its
//! own codec; each phone source's voice is encoded once as Opus for the browser legs. Who hears
//! whom comes in from outside (`set_hears`, or `apply_routes` with the engine's table).

use super::playback::{Playback, Step};
use super::source::{Source, SourceStats};
use super::{Codec, MixError, OpusEncoder, RtpAudio, OPUS_RATE};
use crate::domain::ParticipantId;
use crate::engine::AudioRoutes;
use crate::sfu::Playout;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

/// Where soft clipping starts, as a fraction of full scale: below it the mix is a plain sum, so
/// one talker alone passes untouched; above it peaks bend smoothly towards full scale instead of
/// clipping hard when several talk at once.
pub const SOFT_CLIP_KNEE: f32 = 0.8;

/// What a tick produced, drained with `Mixer::poll_output`. Payloads are one `FRAME_MS` frame;
/// RTP sequence numbers, timestamps and SSRCs are the sender's to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MixOutput {
    /// A phone listener's mix, in its codec. `heard` counts the sources in it (0: silence).
    Mix {
        listener: ParticipantId,
        codec: Codec,
        payload: Vec<u8>,
        heard: usize,
    },
    /// A phone participant's own voice as Opus, for the browser legs that hear it, and its
    /// level (RFC 6464 -dBov) for the speaking indicators.
    Voice {
        source: ParticipantId,
        payload: Vec<u8>,
        level: u8,
    },
    /// The audio given to `Mixer::play` for `listener` ended in this tick's mix.
    PlayoutDone { listener: ParticipantId },
}

enum Encoder {
    G711(super::G711),
    Opus(Box<OpusEncoder>),
}

struct Listener {
    codec: Codec,
    hears: BTreeSet<ParticipantId>,
    encoder: Encoder,
    /// What is played to this listener alone, on top of its mix.
    playback: Option<Playback>,
}

/// One call's mix. Sources are the legs whose audio is decoded (browsers' Opus, phones' G.711);
/// listeners are the phone legs that hear a mix. A phone leg is usually both.
#[derive(Default)]
pub struct Mixer {
    sources: BTreeMap<ParticipantId, Source>,
    listeners: BTreeMap<ParticipantId, Listener>,
    out: VecDeque<MixOutput>,
    ticks: u64,
    mix: Vec<f32>,
    pcm: Vec<i16>,
}

impl Mixer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) `id` as a source sending `codec`: a phone's G.711 (its voice is also
    /// encoded once as Opus for the browsers), or a browser's Opus (which browsers get as is).
    pub fn add_source(&mut self, id: ParticipantId, codec: Codec) -> Result<(), MixError> {
        let voice = matches!(codec, Codec::G711(_));
        self.sources.insert(id, Source::new(codec, voice)?);
        Ok(())
    }

    /// Adds (or replaces) `id` as a phone's source sending `codec`: its voice is encoded once as
    /// Opus for the browser legs whatever its codec (an Opus phone's packets are not the
    /// browsers' format: its RTP clock, packet times and loss differ).
    pub fn add_phone_source(&mut self, id: ParticipantId, codec: Codec) -> Result<(), MixError> {
        self.sources.insert(id, Source::new(codec, true)?);
        Ok(())
    }

    /// Adds (or replaces) `id` as a listener receiving its mix in `codec`; it hears nobody until
    /// `set_hears` or `apply_routes`.
    pub fn add_listener(&mut self, id: ParticipantId, codec: Codec) -> Result<(), MixError> {
        let encoder = match codec {
            Codec::G711(law) => Encoder::G711(law),
            Codec::Opus => Encoder::Opus(Box::new(OpusEncoder::new(OPUS_RATE)?)),
        };
        let hears = BTreeSet::new();
        self.listeners.insert(
            id,
            Listener {
                codec,
                hears,
                encoder,
                playback: None,
            },
        );
        Ok(())
    }

    /// Removes `id` as source and as listener (the leg left).
    pub fn remove(&mut self, id: &ParticipantId) {
        self.sources.remove(id);
        self.listeners.remove(id);
    }

    /// The sources `listener` hears from now on.
    pub fn set_hears(
        &mut self,
        listener: &ParticipantId,
        sources: impl IntoIterator<Item = ParticipantId>,
    ) -> Result<(), MixError> {
        let l = self
            .listeners
            .get_mut(listener)
            .ok_or_else(|| MixError::UnknownListener(listener.clone()))?;
        l.hears = sources.into_iter().collect();
        Ok(())
    }

    /// Every listener hears what `routes` allow it (nobody, if the routes do not know it).
    pub fn apply_routes(&mut self, routes: &AudioRoutes) {
        for (id, listener) in &mut self.listeners {
            listener.hears = routes.sources_for(id).cloned().collect();
        }
    }

    /// Plays `audio` (8 kHz mono) to `listener` alone, added to its mix, replacing what was
    /// played to it; `then` says what it hears once the audio ended (reported by
    /// `MixOutput::PlayoutDone`; a playback replaced or stopped before its end is not reported).
    pub fn play(
        &mut self,
        listener: &ParticipantId,
        audio: Arc<[i16]>,
        then: Playout,
    ) -> Result<(), MixError> {
        let l = self
            .listeners
            .get_mut(listener)
            .ok_or_else(|| MixError::UnknownListener(listener.clone()))?;
        l.playback = Some(Playback::new(audio, then));
        Ok(())
    }

    /// Stops what is played to `listener` (audio and comfort tone); it hears its mix only.
    pub fn stop_playing(&mut self, listener: &ParticipantId) {
        if let Some(l) = self.listeners.get_mut(listener) {
            l.playback = None;
        }
    }

    /// Takes one RTP audio packet from `source` that arrived at `now`.
    pub fn push(
        &mut self,
        source: &ParticipantId,
        packet: RtpAudio,
        now: Instant,
    ) -> Result<(), MixError> {
        let s = self
            .sources
            .get_mut(source)
            .ok_or_else(|| MixError::UnknownSource(source.clone()))?;
        s.push(packet, now);
        Ok(())
    }

    /// Mixes the tick starting at `now` (call every `FRAME_MS`); drain with `poll_output`.
    /// Fails only if libopus cannot encode, never because of what the network sent.
    pub fn tick(&mut self, now: Instant) -> Result<(), MixError> {
        self.ticks += 1;
        for (id, source) in &mut self.sources {
            let heard = self
                .listeners
                .iter()
                .any(|(l, listener)| l != id && listener.hears.contains(id));
            source.tick(now, heard);
            if let Some(payload) = source.encode_voice()? {
                self.out.push_back(MixOutput::Voice {
                    source: id.clone(),
                    payload,
                    level: source.level(),
                });
            }
        }
        for (id, listener) in &mut self.listeners {
            let rate = listener.codec.rate();
            self.mix.clear();
            self.mix.resize(listener.codec.frame_samples(), 0.0);
            let mut heard = 0;
            for source_id in listener.hears.iter().filter(|s| *s != id) {
                let Some(source) = self.sources.get_mut(source_id) else {
                    continue;
                };
                if let Some(frame) = source.frame_at(rate, self.ticks) {
                    for (m, s) in self.mix.iter_mut().zip(frame) {
                        *m += s;
                    }
                    heard += 1;
                }
            }
            let mut played = false;
            if let Some(playback) = &mut listener.playback {
                played = playback.add_to(&mut self.mix) == Step::AudioEnded;
                if playback.is_over() {
                    listener.playback = None;
                }
            }
            let payload = match &mut listener.encoder {
                Encoder::G711(law) => {
                    self.pcm.clear();
                    self.pcm
                        .extend(self.mix.iter().map(|&x| to_i16(soft_clip(x))));
                    let mut payload = Vec::with_capacity(self.pcm.len());
                    law.encode(&self.pcm, &mut payload);
                    payload
                }
                Encoder::Opus(encoder) => {
                    for x in &mut self.mix {
                        *x = soft_clip(*x);
                    }
                    encoder.encode(&self.mix)?
                }
            };
            self.out.push_back(MixOutput::Mix {
                listener: id.clone(),
                codec: listener.codec,
                payload,
                heard,
            });
            if played {
                self.out.push_back(MixOutput::PlayoutDone {
                    listener: id.clone(),
                });
            }
        }
        Ok(())
    }

    /// The next output of the last tick, in order: voices by source, then mixes by listener (each
    /// followed by its `PlayoutDone`, if any).
    pub fn poll_output(&mut self) -> Option<MixOutput> {
        self.out.pop_front()
    }

    /// Counters of `source`'s stream.
    pub fn source_stats(&self, source: &ParticipantId) -> Option<SourceStats> {
        self.sources.get(source).map(Source::stats)
    }
}

/// Identity below `SOFT_CLIP_KNEE`; above it a tanh curve towards full scale, continuous in value
/// and slope at the knee.
pub fn soft_clip(x: f32) -> f32 {
    let a = x.abs();
    if a <= SOFT_CLIP_KNEE {
        return x;
    }
    let room = 1.0 - SOFT_CLIP_KNEE;
    (SOFT_CLIP_KNEE + room * ((a - SOFT_CLIP_KNEE) / room).tanh()).copysign(x)
}

fn to_i16(x: f32) -> i16 {
    (x * 32767.0).round().clamp(-32768.0, 32767.0) as i16
}

#[cfg(test)]
mod tests;
