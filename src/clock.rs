//! Times, on the `time` crate. What a person reads — Drafts, Outbox, Sent,
//! the inbox, the status bar, the sandbox's lines — is local time with its
//! offset; what a machine reads (JSON, JSON Lines, record ids, file names)
//! stays UTC.
//!
//! The zone's offset is read once, by [`init_local_offset`] at start-up
//! before any thread exists: on Unix the `time` crate refuses to read it
//! from a threaded process (the C library's zone state is not thread-safe).
//! Until then, and where it cannot be read, times are shown in UTC.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use time::{OffsetDateTime, UtcOffset};

static LOCAL: OnceLock<UtcOffset> = OnceLock::new();

/// Reads the local zone's offset and keeps it for the process. Call first
/// thing in `main`, before any thread is spawned.
pub fn init_local_offset() -> UtcOffset {
    *LOCAL.get_or_init(|| UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC))
}

/// The offset read at start-up (UTC when it was not, or could not be).
pub fn local_offset() -> UtcOffset {
    LOCAL.get().copied().unwrap_or(UtcOffset::UTC)
}

/// Seconds since the Unix epoch (negative before it; 0 if the clock is broken).
pub fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Unix seconds as a date and time at `offset` (the epoch for a time out
/// of the calendar's range).
pub fn at(secs: i64, offset: UtcOffset) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.checked_to_offset(offset))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// An offset as a person reads it: `UTC`, `+01:00`, `-03:30`.
pub fn offset_label(offset: UtcOffset) -> String {
    if offset.is_utc() {
        return "UTC".into();
    }
    let (h, m, _) = offset.as_hms();
    let sign = if offset.is_negative() { '-' } else { '+' };
    format!("{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
}

/// A time's fields: year, month, day, hour, minute, second.
fn fields(t: OffsetDateTime) -> (i32, u8, u8, u8, u8, u8) {
    let (h, mi, s) = t.to_hms();
    (t.year(), u8::from(t.month()), t.day(), h, mi, s)
}

/// `YYYY-MM-DD HH:MM +01:00`: when a draft was saved, a message sent.
pub fn date_time(secs: i64, offset: UtcOffset) -> String {
    let (y, mo, d, h, mi, _) = fields(at(secs, offset));
    format!(
        "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02} {}",
        offset_label(offset)
    )
}

/// `HH:MM:SS +01:00`: a log line's time of day.
pub fn time_of_day(t: SystemTime, offset: UtcOffset) -> String {
    let (_, _, _, h, mi, s) = fields(at(unix_secs(t), offset));
    format!("{h:02}:{mi:02}:{s:02} {}", offset_label(offset))
}

/// [`date_time`] in the local zone.
pub fn local_date_time(secs: i64) -> String {
    date_time(secs, local_offset())
}

/// [`time_of_day`] in the local zone.
pub fn local_time_of_day(t: SystemTime) -> String {
    time_of_day(t, local_offset())
}

/// `YYYY-MM-DD HH:MM:SS UTC`: certificate validity, shared transcripts'
/// headers (read by machines too).
pub fn format_utc(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = fields(at(secs, UtcOffset::UTC));
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} UTC")
}

/// `YYYYMMDDTHHMMSSZ` (ISO 8601 basic, UTC): ids and file names that sort
/// by age.
pub fn compact_utc(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = fields(at(secs, UtcOffset::UTC));
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn offset(h: i8, m: i8) -> UtcOffset {
        UtcOffset::from_hms(h, m, 0).unwrap()
    }

    #[test]
    fn utc_formatting() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_utc(1_795_000_000), "2026-11-18 11:06:40 UTC");
        assert_eq!(format_utc(-1), "1969-12-31 23:59:59 UTC");
        assert_eq!(compact_utc(1_709_214_307), "20240229T134507Z");
        assert_eq!(unix_secs(UNIX_EPOCH), 0);
    }

    #[test]
    fn local_times_carry_their_offset() {
        // 2026-12-31 23:30:00 UTC: the date changes east of Greenwich.
        let secs = 1_798_759_800;
        assert_eq!(date_time(secs, UtcOffset::UTC), "2026-12-31 23:30 UTC");
        assert_eq!(date_time(secs, offset(1, 0)), "2027-01-01 00:30 +01:00");
        assert_eq!(date_time(secs, offset(-3, -30)), "2026-12-31 20:00 -03:30");
        assert_eq!(date_time(secs, offset(5, 45)), "2027-01-01 05:15 +05:45");
        let t = UNIX_EPOCH + Duration::from_secs(1_709_214_307);
        assert_eq!(time_of_day(t, offset(9, 0)), "22:45:07 +09:00");
        assert_eq!(time_of_day(t, UtcOffset::UTC), "13:45:07 UTC");
    }

    #[test]
    fn times_at_the_calendars_edge_do_not_panic() {
        // 9999-12-31 23:59:59 UTC: a positive offset would cross into year
        // 10000, which the calendar cannot hold.
        let last = 253_402_300_799;
        assert_eq!(format_utc(last), "9999-12-31 23:59:59 UTC");
        assert_eq!(date_time(last, offset(14, 0)), "1970-01-01 00:00 +14:00");
        assert_eq!(
            date_time(i64::MAX, offset(-12, 0)),
            "1970-01-01 00:00 -12:00"
        );
        assert_eq!(date_time(i64::MIN, UtcOffset::UTC), "1970-01-01 00:00 UTC");
    }

    #[test]
    fn a_time_out_of_range_is_the_epoch_not_a_panic() {
        assert_eq!(format_utc(i64::MAX), "1970-01-01 00:00:00 UTC");
    }
}
