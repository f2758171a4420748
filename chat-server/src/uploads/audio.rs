//! Recognising voice messages: Ogg/Opus, WebM/Opus, MP4/AAC and MP3, told
//! apart by their bytes (symphonia's container probes), with their duration
//! read from the container. Nothing is decoded: the container's own frame
//! count is used when it states one, and otherwise (a WebM written live by a
//! browser's `MediaRecorder` states none) the end of its last packet.
//!
//! Everything here is synchronous and CPU-bound: callers run it on a blocking thread.

use std::io::Cursor;

use symphonia::core::codecs::CodecParameters;
use symphonia::core::codecs::audio::AudioCodecId;
use symphonia::core::codecs::audio::well_known::{CODEC_ID_AAC, CODEC_ID_MP3, CODEC_ID_OPUS};
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::well_known::{
    FORMAT_ID_ISOMP4, FORMAT_ID_MKV, FORMAT_ID_MP3, FORMAT_ID_OGG,
};
use symphonia::core::formats::{FormatId, FormatOptions, FormatReader, Track, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::units::Duration;

/// The accepted audio containers, each with the one codec accepted in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioKind {
    /// Opus in Ogg (`.ogg`, what Firefox records).
    OggOpus,
    /// Opus in WebM (what Chromium records).
    WebmOpus,
    /// AAC in MP4 (`.m4a`, what Safari records).
    Mp4Aac,
    /// MP3.
    Mp3,
}

impl AudioKind {
    const ALL: [AudioKind; 4] = [
        AudioKind::OggOpus,
        AudioKind::WebmOpus,
        AudioKind::Mp4Aac,
        AudioKind::Mp3,
    ];

    fn of(format: FormatId, codec: AudioCodecId) -> Option<AudioKind> {
        AudioKind::ALL
            .into_iter()
            .find(|kind| kind.container() == format && kind.codec() == codec)
    }

    fn container(self) -> FormatId {
        match self {
            AudioKind::OggOpus => FORMAT_ID_OGG,
            AudioKind::WebmOpus => FORMAT_ID_MKV,
            AudioKind::Mp4Aac => FORMAT_ID_ISOMP4,
            AudioKind::Mp3 => FORMAT_ID_MP3,
        }
    }

    fn codec(self) -> AudioCodecId {
        match self {
            AudioKind::OggOpus | AudioKind::WebmOpus => CODEC_ID_OPUS,
            AudioKind::Mp4Aac => CODEC_ID_AAC,
            AudioKind::Mp3 => CODEC_ID_MP3,
        }
    }

    /// The extension of the stored file.
    pub fn extension(self) -> &'static str {
        match self {
            AudioKind::OggOpus => "ogg",
            AudioKind::WebmOpus => "webm",
            AudioKind::Mp4Aac => "m4a",
            AudioKind::Mp3 => "mp3",
        }
    }

    /// The kind a stored file's extension names.
    pub fn from_extension(ext: &str) -> Option<AudioKind> {
        AudioKind::ALL
            .into_iter()
            .find(|kind| kind.extension() == ext)
    }

    /// Its MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            AudioKind::OggOpus => "audio/ogg",
            AudioKind::WebmOpus => "audio/webm",
            AudioKind::Mp4Aac => "audio/mp4",
            AudioKind::Mp3 => "audio/mpeg",
        }
    }
}

/// Audio recognised in an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioInfo {
    /// Container and codec.
    pub kind: AudioKind,
    /// Length in milliseconds.
    pub duration_ms: u64,
}

/// The audio `bytes` hold, or `None` when they are not one of the accepted
/// kinds, or have no packet to play.
pub fn probe(bytes: &[u8]) -> Option<AudioInfo> {
    let stream = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let mut reader = symphonia::default::get_probe()
        .probe(
            &Hint::new(),
            stream,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .ok()?;
    let track = reader.default_track(TrackType::Audio)?.clone();
    let codec = match &track.codec_params {
        Some(CodecParameters::Audio(params)) => params.codec,
        _ => return None,
    };
    let kind = AudioKind::of(reader.format_info().format, codec)?;
    let time_base = track.time_base?;
    let stated = track.duration.filter(|d| d.get() > 0);
    let ticks = match stated {
        Some(duration) => duration,
        None => played_ticks(reader.as_mut(), &track)?,
    };
    let time = time_base.calc_duration(ticks)?;
    let duration_ms = u64::try_from(time.as_millis()).ok()?;
    (duration_ms > 0).then_some(AudioInfo { kind, duration_ms })
}

/// The end of the track's last packet, in time-base ticks after its start.
/// A packet that cannot be read ends the count: what came before it is what
/// a player plays.
fn played_ticks(reader: &mut dyn FormatReader, track: &Track) -> Option<Duration> {
    let start = track.start_ts.get();
    let mut end = start;
    let mut packets = 0u64;
    while let Ok(Some(packet)) = reader.next_packet() {
        if packet.track_id != track.id {
            continue;
        }
        packets += 1;
        let packet_end = packet
            .pts
            .get()
            .saturating_add(i64::try_from(packet.dur.get()).unwrap_or(i64::MAX));
        end = end.max(packet_end);
    }
    if packets == 0 {
        return None;
    }
    u64::try_from(end.saturating_sub(start))
        .ok()
        .map(Duration::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_name_their_kind() {
        for kind in AudioKind::ALL {
            assert_eq!(AudioKind::from_extension(kind.extension()), Some(kind));
        }
        assert_eq!(AudioKind::from_extension("wav"), None);
    }

    #[test]
    fn other_bytes_are_not_audio() {
        assert_eq!(probe(b""), None);
        assert_eq!(probe(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"), None);
        assert_eq!(probe(&[0xff; 4096]), None);
        // An Ogg page header with nothing after it.
        assert_eq!(probe(b"OggS\0\x02\0\0\0\0\0\0\0\0"), None);
    }
}
