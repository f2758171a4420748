//! Words as search sees them, and the snippet of a found message with the
//! places of its matching words: computed here from the content, so both
//! databases answer the same.
//!
//! A word is a run of letters and digits (combining marks stay with their
//! letter), which is how PostgreSQL's parser (after ASCII punctuation is
//! turned into spaces) and SQLite's `unicode61` tokenizer cut text too. Words
//! are compared folded: decomposed, without combining marks, lower-cased.
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Longest snippet, in characters, ellipses included.
pub(crate) const SNIPPET_CHARS: usize = 200;
/// How much text a cut snippet keeps before its first match, at most.
const CONTEXT_BEFORE: usize = 60;
const ELLIPSIS: char = '…';

/// Whether `c` belongs to a word.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_combining_mark(c)
}

/// `word` without case or accents: `Café` and `CAFE` both fold to `cafe`.
pub(crate) fn fold(word: &str) -> String {
    word.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The words of `text`, as written, in order.
pub(crate) fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| !is_word_char(c))
        .filter(|w| !w.is_empty())
        .collect()
}

/// The folded words of a query: every one must match a word of a message;
/// the last also matches the words it begins (the word being typed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Terms {
    folded: Vec<String>,
}

impl Terms {
    /// The terms of `words` (words that fold to nothing are left out by the caller).
    pub(crate) fn new(words: &[&str]) -> Terms {
        Terms {
            folded: words.iter().map(|w| fold(w)).collect(),
        }
    }

    /// Whether the word `folded` is one the query asks for.
    fn matches(&self, folded: &str) -> bool {
        match self.folded.split_last() {
            Some((last, whole)) => {
                folded.starts_with(last.as_str()) || whole.iter().any(|t| t == folded)
            }
            None => false,
        }
    }
}

/// A snippet and its highlights, `[start, end)` in characters of the snippet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Snippet {
    pub(crate) text: String,
    pub(crate) highlights: Vec<[usize; 2]>,
}

/// The snippet of `content` for `terms`: the whole content when it is short
/// enough, else a window around the first matching word cut at word
/// boundaries, with an ellipsis at each cut end.
pub(crate) fn snippet(content: &str, terms: &Terms) -> Snippet {
    let chars: Vec<char> = content.chars().collect();
    let matches = matching_words(&chars, terms);
    if chars.len() <= SNIPPET_CHARS {
        return Snippet {
            text: content.to_owned(),
            highlights: matches,
        };
    }
    let anchor = matches.first().copied().unwrap_or([0, 0]);
    let len = chars.len();
    // Some context before the match, more when the text ends soon after it.
    let start = anchor[0]
        .saturating_sub(CONTEXT_BEFORE)
        .min(len - (SNIPPET_CHARS - 1));
    let start = forward_to_word(&chars, start, anchor[0]);
    let lead = usize::from(start > 0);
    let room = SNIPPET_CHARS - lead;
    let (end, trail) = if len - start <= room {
        (len, 0)
    } else {
        (back_to_word(&chars, start, start + room - 1, anchor[1]), 1)
    };
    let mut text = String::with_capacity((end - start + 2) * 2);
    if lead == 1 {
        text.push(ELLIPSIS);
    }
    text.extend(&chars[start..end]);
    if trail == 1 {
        text.push(ELLIPSIS);
    }
    let highlights = matches
        .into_iter()
        .filter(|[s, _]| *s >= start && *s < end)
        .map(|[s, e]| [s - start + lead, e.min(end) - start + lead])
        .collect();
    Snippet { text, highlights }
}

/// `[start, end)` of every word of `chars` that `terms` match.
fn matching_words(chars: &[char], terms: &Terms) -> Vec<[usize; 2]> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !is_word_char(chars[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_word_char(chars[i]) {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        if terms.matches(&fold(&word)) {
            found.push([start, i]);
        }
    }
    found
}

/// The first word start at or after `at` (never past `limit`), when `at`
/// falls inside a word or on spaces.
fn forward_to_word(chars: &[char], at: usize, limit: usize) -> usize {
    let mut i = at;
    if i > 0 && is_word_char(chars[i - 1]) {
        while i < limit && is_word_char(chars[i]) {
            i += 1;
        }
    }
    while i < limit && chars[i].is_whitespace() {
        i += 1;
    }
    i
}

/// Where to end a window that may reach `at`: before the word `at` would cut,
/// without trailing spaces; at `at` itself when that would cut into the match
/// ending at `keep` (a word longer than the window).
fn back_to_word(chars: &[char], start: usize, at: usize, keep: usize) -> usize {
    let mut end = at;
    if end < chars.len() && is_word_char(chars[end]) {
        while end > start && is_word_char(chars[end - 1]) {
            end -= 1;
        }
    }
    while end > start && chars[end - 1].is_whitespace() {
        end -= 1;
    }
    if end < keep.min(at) || end == start {
        at
    } else {
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(query: &str) -> Terms {
        Terms::new(&words(query))
    }

    fn highlighted(s: &Snippet) -> Vec<String> {
        let chars: Vec<char> = s.text.chars().collect();
        s.highlights
            .iter()
            .map(|[a, b]| chars[*a..*b].iter().collect())
            .collect()
    }

    #[test]
    fn words_are_runs_of_letters_and_digits() {
        assert_eq!(
            words(r#"a:b "x"* NEAR( don't (((\ e-mail 2026 Ünïcödé 東京"#),
            [
                "a",
                "b",
                "x",
                "NEAR",
                "don",
                "t",
                "e",
                "mail",
                "2026",
                "Ünïcödé",
                "東京"
            ]
        );
        assert!(words(r#"" * ((( ' \ !?"#).is_empty());
    }

    #[test]
    fn folding_drops_case_and_accents() {
        assert_eq!(fold("Café"), "cafe");
        assert_eq!(fold("CAFE\u{301}"), "cafe");
        assert_eq!(fold("Ñandú"), "nandu");
        assert_eq!(fold("ÉCOLE"), "ecole");
    }

    #[test]
    fn short_content_is_whole_with_every_match() {
        let s = snippet(
            "Shall we meet at the Café Central tomorrow?",
            &terms("cafe cent"),
        );
        assert_eq!(s.text, "Shall we meet at the Café Central tomorrow?");
        assert_eq!(s.highlights, [[21, 25], [26, 33]]);
        assert_eq!(highlighted(&s), ["Café", "Central"]);
    }

    #[test]
    fn only_the_last_word_is_a_prefix() {
        let s = snippet("cafeteria cafe caf", &terms("caf"));
        assert_eq!(highlighted(&s), ["cafeteria", "cafe", "caf"]);
        let s = snippet("cafeteria cafe caf", &terms("caf x"));
        assert_eq!(highlighted(&s), ["caf"]);
    }

    #[test]
    fn long_content_is_cut_around_the_match_at_word_boundaries() {
        let before = "lorem ipsum dolor sit amet ".repeat(20);
        let after = " consectetur adipiscing elit".repeat(20);
        let content = format!("{before}the needle is here{after}");
        let s = snippet(&content, &terms("NEEDLE"));
        let chars: Vec<char> = s.text.chars().collect();
        assert!(chars.len() <= SNIPPET_CHARS, "{}", chars.len());
        assert!(
            s.text.starts_with('…') && s.text.ends_with('…'),
            "{}",
            s.text
        );
        assert_eq!(highlighted(&s), ["needle"]);
        // Whole words at both cuts.
        let inner: String = chars[1..chars.len() - 1].iter().collect();
        for word in words(&inner) {
            assert!(content.split(' ').any(|w| w == word), "cut word {word}");
        }
        assert!(!inner.starts_with(' ') && !inner.ends_with(' '));
        let at = s.highlights[0][0];
        assert!((20..=CONTEXT_BEFORE + 1).contains(&at), "{at}");
    }

    #[test]
    fn a_match_near_the_end_fills_the_window_from_before() {
        let content = format!("{} final", "word ".repeat(100));
        let s = snippet(&content, &terms("final"));
        assert!(s.text.starts_with('…') && !s.text.ends_with('…'));
        assert!(s.text.ends_with("final"));
        assert!(s.text.chars().count() <= SNIPPET_CHARS);
        assert!(s.text.chars().count() > SNIPPET_CHARS - 8);
        assert_eq!(highlighted(&s), ["final"]);
    }

    #[test]
    fn offsets_count_characters_of_non_ascii_text() {
        let content = format!(
            "{}Ночью мы пошли в кафе «Прага» 🎉 и ели торт{}",
            "漢字と仮名 ".repeat(30),
            " продолжение".repeat(20)
        );
        let s = snippet(&content, &terms("КАФЕ праг"));
        assert_eq!(highlighted(&s), ["кафе", "Прага"]);
        assert!(s.text.chars().count() <= SNIPPET_CHARS);
        let s = snippet("Café 🎉 crème brûlée", &terms("creme brulee"));
        assert_eq!(s.highlights, [[7, 12], [13, 19]]);
        assert_eq!(highlighted(&s), ["crème", "brûlée"]);
    }

    #[test]
    fn a_word_longer_than_the_window_is_cut_inside() {
        let content = format!("start {} end", "x".repeat(500));
        let s = snippet(&content, &terms("xx"));
        assert_eq!(s.text.chars().count(), SNIPPET_CHARS);
        assert!(s.text.ends_with('…'));
        assert_eq!(s.highlights.len(), 1);
        let [a, b] = s.highlights[0];
        assert!(b < SNIPPET_CHARS && a < b);
    }

    #[test]
    fn no_match_shown_is_the_beginning() {
        let content = "straße ".repeat(50);
        let s = snippet(&content, &terms("strasse"));
        assert!(s.text.starts_with("straße") && s.text.ends_with('…'));
        assert!(s.highlights.is_empty());
    }
}
