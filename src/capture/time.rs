//! Capture timestamps.

use std::fmt;

/// A capture timestamp: nanoseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const fn from_nanos(nanos: i64) -> Self {
        Self(nanos)
    }

    /// Seconds and a fraction counted in `units_per_sec` (10^6 for microseconds, ...).
    /// Saturates instead of overflowing on absurd inputs.
    pub fn from_parts(secs: i64, frac: u64, units_per_sec: u64) -> Self {
        // Micro- and nanosecond resolutions (nearly every capture) skip the 128-bit division
        // that this runs once per frame otherwise.
        let frac_ns = match units_per_sec {
            1_000_000_000 => i64::try_from(frac).unwrap_or(i64::MAX),
            1_000_000 if frac < 1 << 40 => (frac * 1_000) as i64,
            _ => {
                let units = units_per_sec.max(1) as u128;
                let ns = (frac as u128).saturating_mul(1_000_000_000) / units;
                i64::try_from(ns).unwrap_or(i64::MAX)
            }
        };
        Self(secs.saturating_mul(1_000_000_000).saturating_add(frac_ns))
    }

    /// A pcapng timestamp: a 64-bit count of `units_per_sec` units, plus the interface's
    /// `if_tsoffset` in seconds.
    pub fn from_units(count: u64, units_per_sec: u64, offset_secs: i64) -> Self {
        let units = units_per_sec.max(1);
        let secs = i64::try_from(count / units).unwrap_or(i64::MAX);
        Self::from_parts(secs.saturating_add(offset_secs), count % units, units)
    }

    pub const fn nanos(self) -> i64 {
        self.0
    }

    /// Signed difference `self - earlier`, in nanoseconds.
    pub const fn since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// Seconds as a float, for display.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// RFC 3339 in UTC with microseconds, e.g. `2024-05-01T10:00:00.123456Z`.
    pub fn rfc3339_micros(self) -> String {
        let secs = self.0.div_euclid(1_000_000_000);
        let micros = self.0.rem_euclid(1_000_000_000) / 1_000;
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
            sod / 3600,
            (sod / 60) % 60,
            sod % 60
        )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339_micros())
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day); Howard Hinnant's
/// well-known algorithm, restated.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_with_micros() {
        assert_eq!(Timestamp(0).rfc3339_micros(), "1970-01-01T00:00:00.000000Z");
        // 2024-02-29T12:34:56.789012Z: a leap day
        let t = Timestamp::from_parts(1_709_210_096, 789_012, 1_000_000);
        assert_eq!(t.rfc3339_micros(), "2024-02-29T12:34:56.789012Z");
    }

    #[test]
    fn converts_units() {
        assert_eq!(
            Timestamp::from_parts(1, 5, 1_000_000).nanos(),
            1_000_005_000
        );
        assert_eq!(
            Timestamp::from_parts(1, 5, 1_000_000_000).nanos(),
            1_000_000_005
        );
        assert_eq!(
            Timestamp::from_units(1_500_000, 1_000_000, 0).nanos(),
            1_500_000_000
        );
        assert_eq!(Timestamp::from_units(3, 2, 10).nanos(), 11_500_000_000);
    }

    #[test]
    fn fast_paths_agree_with_the_general_division() {
        let general = |frac: u64, units: u64| {
            let ns = u128::from(frac).saturating_mul(1_000_000_000) / u128::from(units);
            i64::try_from(ns).unwrap_or(i64::MAX)
        };
        for frac in [0, 1, 999_999, 1_000_000, 999_999_999, 1 << 40, u64::MAX] {
            for units in [1_000_000, 1_000_000_000] {
                assert_eq!(
                    Timestamp::from_parts(0, frac, units).nanos(),
                    general(frac, units),
                    "{frac} / {units}"
                );
            }
        }
    }

    #[test]
    fn saturates_on_absurd_values() {
        let t = Timestamp::from_units(u64::MAX, 1, i64::MAX);
        assert_eq!(t.nanos(), i64::MAX);
    }
}
