//! Measurements: latency summaries and per-conversation sets of received sequence numbers.
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Microseconds since the Unix epoch (comparable between processes on one machine).
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Largest `seq` tracked; anything above is treated as a protocol error (keeps the bitsets bounded).
pub const MAX_SEQ: u64 = 1 << 26;

/// A set of message sequence numbers (1, 2, 3, ...) of one conversation.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct SeqSet {
    bits: Vec<u64>,
    len: u64,
}

impl SeqSet {
    /// Adds `seq`; true when it was not there yet. `seq` 0 or above [`MAX_SEQ`] is refused (false).
    pub fn insert(&mut self, seq: u64) -> bool {
        if seq == 0 || seq > MAX_SEQ {
            return false;
        }
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if word >= self.bits.len() {
            self.bits.resize(word + 1, 0);
        }
        let mask = 1u64 << bit;
        let fresh = self.bits[word] & mask == 0;
        self.bits[word] |= mask;
        self.len += u64::from(fresh);
        fresh
    }

    /// Whether `seq` is in the set.
    pub fn contains(&self, seq: u64) -> bool {
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        self.bits.get(word).is_some_and(|w| w & (1 << bit) != 0)
    }

    /// The highest `n` such that 1..=n are all present (0 when 1 is missing).
    pub fn contiguous(&self) -> u64 {
        for (i, &word) in self.bits.iter().enumerate() {
            // Bit 0 of word 0 stands for seq 0, which never exists: treat it as present.
            let word = if i == 0 { word | 1 } else { word };
            if word != u64::MAX {
                return i as u64 * 64 + u64::from(word.trailing_ones()) - 1;
            }
        }
        (self.bits.len() as u64 * 64).saturating_sub(1)
    }

    /// Number of sequence numbers held.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The sequence numbers held, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.bits.iter().enumerate().flat_map(|(i, &word)| {
            let mut w = word;
            std::iter::from_fn(move || {
                (w != 0).then(|| {
                    let bit = u64::from(w.trailing_zeros());
                    w &= w - 1;
                    i as u64 * 64 + bit
                })
            })
        })
    }
}

/// Percentiles of a latency sample, in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LatencySummary {
    /// Number of samples.
    pub count: u64,
    /// Mean.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Largest sample.
    pub max_ms: f64,
}

fn ms(us: u32) -> f64 {
    (f64::from(us) / 10.0).round() / 100.0
}

impl LatencySummary {
    /// Summarizes samples given in microseconds (sorts them).
    pub fn from_us(samples: &mut [u32]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        let n = samples.len();
        let at = |q: f64| {
            let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
            ms(samples[rank - 1])
        };
        let sum: u64 = samples.iter().map(|&s| u64::from(s)).sum();
        Self {
            count: n as u64,
            mean_ms: ((sum as f64 / n as f64) / 10.0).round() / 100.0,
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p95_ms: at(0.95),
            p99_ms: at(0.99),
            p999_ms: at(0.999),
            max_ms: ms(samples[n - 1]),
        }
    }
}

/// Saturating conversion of a microsecond difference into a sample.
pub fn sample_us(from_us: u64, to_us: u64) -> u32 {
    u32::try_from(to_us.saturating_sub(from_us)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_set_inserts_and_counts() {
        let mut set = SeqSet::default();
        assert!(set.is_empty());
        assert_eq!(set.contiguous(), 0);
        assert!(set.insert(1));
        assert!(!set.insert(1));
        assert!(set.insert(2));
        assert!(set.insert(4));
        assert!(!set.insert(0));
        assert!(!set.insert(MAX_SEQ + 1));
        assert_eq!(set.len(), 3);
        assert!(set.contains(4) && !set.contains(3) && !set.contains(1000));
        assert_eq!(set.contiguous(), 2);
        set.insert(3);
        assert_eq!(set.contiguous(), 4);
        set.insert(130);
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![1, 2, 3, 4, 130]);
    }

    #[test]
    fn seq_set_contiguous_across_words() {
        let mut set = SeqSet::default();
        for seq in 1..=63 {
            set.insert(seq);
        }
        assert_eq!(set.contiguous(), 63);
        set.insert(64);
        assert_eq!(set.contiguous(), 64);
        for seq in 65..=200 {
            set.insert(seq);
        }
        assert_eq!(set.contiguous(), 200);
        set.insert(202);
        assert_eq!(set.contiguous(), 200);
        let mut only_later = SeqSet::default();
        only_later.insert(5);
        assert_eq!(only_later.contiguous(), 0);
        let mut full_word = SeqSet::default();
        for seq in 1..=127 {
            full_word.insert(seq);
        }
        assert_eq!(full_word.contiguous(), 127);
    }

    #[test]
    fn latency_percentiles() {
        let mut samples: Vec<u32> = (1..=1000).map(|i| i * 1000).collect();
        let s = LatencySummary::from_us(&mut samples);
        assert_eq!(s.count, 1000);
        assert_eq!(s.p50_ms, 500.0);
        assert_eq!(s.p95_ms, 950.0);
        assert_eq!(s.p99_ms, 990.0);
        assert_eq!(s.p999_ms, 999.0);
        assert_eq!(s.max_ms, 1000.0);
        assert_eq!(s.mean_ms, 500.5);
        assert_eq!(LatencySummary::from_us(&mut []).count, 0);
        assert_eq!(sample_us(10, 5), 0);
        assert_eq!(sample_us(5, 1505), 1500);
    }
}
