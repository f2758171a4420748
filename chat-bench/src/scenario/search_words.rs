//! The `search` scenario's words: a synthetic vocabulary drawn with a Zipf distribution, the
//! messages written from it and the queries a user would type.
use rand::Rng;
use rand::rngs::StdRng;

/// A synthetic vocabulary: `size` distinct pronounceable words, some with an accent, ranked by
/// frequency (rank 0 the most common), drawn with a Zipf distribution of exponent 1.
pub(super) struct Vocabulary {
    pub(super) words: Vec<String>,
    /// Cumulative weights of the ranks.
    cumulative: Vec<f64>,
}

const SYLLABLES: [&str; 16] = [
    "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "pe", "da", "gu", "ze", "bri", "cho", "fle",
    "qua",
];

impl Vocabulary {
    pub(super) fn new(size: usize) -> Vocabulary {
        let words = (0..size).map(word).collect();
        let mut total = 0.0;
        let cumulative = (1..=size)
            .map(|rank| {
                total += 1.0 / rank as f64;
                total
            })
            .collect();
        Vocabulary { words, cumulative }
    }

    /// A rank drawn with the Zipf distribution.
    pub(super) fn zipf(&self, rng: &mut StdRng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let x = rng.random::<f64>() * total;
        self.cumulative
            .partition_point(|&c| c < x)
            .min(self.words.len() - 1)
    }

    /// A rank drawn evenly on a log scale: as many very common as rare words.
    pub(super) fn any_frequency(&self, rng: &mut StdRng) -> usize {
        let top = (self.words.len() as f64).ln();
        ((rng.random::<f64>() * top).exp() as usize).saturating_sub(1)
    }
}

/// Word `i`: its syllables are the digits of `i` in base 16, two to four of them, so every word
/// is distinct; one in twenty carries an accent (searched without it).
fn word(i: usize) -> String {
    let (digits, n) = match i {
        0..256 => (2, i),
        256..4352 => (3, i - 256),
        _ => (4, i - 4352),
    };
    let mut w = String::new();
    for d in (0..digits).rev() {
        w.push_str(SYLLABLES[(n >> (4 * d)) & 15]);
    }
    if i % 20 == 7 {
        w = w.replacen('e', "é", 1);
    }
    w
}

/// A message: 3 to 20 words of the vocabulary.
pub(super) fn content(vocabulary: &Vocabulary, rng: &mut StdRng) -> String {
    let len = rng.random_range(3..=20);
    let words: Vec<&str> = (0..len)
        .map(|_| vocabulary.words[vocabulary.zipf(rng)].as_str())
        .collect();
    words.join(" ")
}

/// The kinds of search, in turn.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    OneWord,
    TwoWords,
    Prefix,
}

/// A query of `kind`, as a user would type it (accents left out).
pub(super) fn query(kind: Kind, vocabulary: &Vocabulary, rng: &mut StdRng) -> String {
    let plain = |rank: usize| vocabulary.words[rank].replace('é', "e");
    match kind {
        Kind::OneWord => plain(vocabulary.any_frequency(rng)),
        Kind::TwoWords => format!(
            "{} {}",
            plain(vocabulary.zipf(rng)),
            plain(vocabulary.zipf(rng))
        ),
        Kind::Prefix => {
            let w = plain(vocabulary.any_frequency(rng));
            let cut: String = w
                .chars()
                .take(rng.random_range(3..=w.len().max(3)))
                .collect();
            if rng.random_bool(0.5) {
                format!("{} {cut}", plain(vocabulary.zipf(rng)))
            } else {
                cut
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn words_are_distinct_and_zipf_favours_the_first() {
        let vocabulary = Vocabulary::new(5000);
        let mut sorted = vocabulary.words.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 5000);
        assert!(vocabulary.words.iter().any(|w| w.contains('é')));
        let mut rng = StdRng::seed_from_u64(1);
        let draws: Vec<usize> = (0..10_000).map(|_| vocabulary.zipf(&mut rng)).collect();
        let top = draws.iter().filter(|&&r| r == 0).count();
        // 1 / H(5000) of the draws, about 11%.
        assert!((900..1400).contains(&top), "{top}");
        assert!(draws.iter().all(|&r| r < 5000));
        let any: Vec<usize> = (0..1000)
            .map(|_| vocabulary.any_frequency(&mut rng))
            .collect();
        assert!(any.iter().any(|&r| r < 10) && any.iter().any(|&r| r > 1000));
    }

    #[test]
    fn queries_have_no_accents_and_prefixes_three_letters() {
        let vocabulary = Vocabulary::new(5000);
        let mut rng = StdRng::seed_from_u64(2);
        for kind in [Kind::OneWord, Kind::TwoWords, Kind::Prefix] {
            for _ in 0..100 {
                let q = query(kind, &vocabulary, &mut rng);
                assert!(!q.contains('é'));
                assert!(q.split(' ').all(|w| w.chars().count() >= 3), "{q}");
            }
        }
    }
}
