//! A step's output as it is kept: [`StepLog`] holds the head and the tail of
//! the lines under a cap and says what was cut in between; [`mask`] hides
//! secret values in text before it is shown or stored.

use std::borrow::Cow;
use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// What a secret's value is replaced with.
pub const MASK: &str = "••••";

/// Bytes of lines kept at the start of a step's output by default.
pub const HEAD_CAP: usize = 32 * 1024;
/// Bytes of lines kept at the end of a step's output by default.
pub const TAIL_CAP: usize = 32 * 1024;

/// The persisted output of one step: the first `head_cap` bytes of lines, the
/// last `tail_cap` bytes of lines, and a count of the lines (and bytes) cut in
/// between. A line longer than the cap it lands in is cut there (on a char
/// boundary) and its lost bytes are counted too. A line counts its bytes and
/// one for its newline, so empty lines are not free.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepLog {
    head_cap: usize,
    tail_cap: usize,
    head: Vec<String>,
    head_bytes: usize,
    tail: VecDeque<String>,
    tail_bytes: usize,
    cut_lines: u64,
    cut_bytes: u64,
}

impl Default for StepLog {
    fn default() -> Self {
        StepLog::new(HEAD_CAP, TAIL_CAP)
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl StepLog {
    /// An empty log keeping `head_cap` bytes of the first lines and `tail_cap` of the last.
    pub fn new(head_cap: usize, tail_cap: usize) -> Self {
        StepLog {
            head_cap,
            tail_cap,
            head: Vec::new(),
            head_bytes: 0,
            tail: VecDeque::new(),
            tail_bytes: 0,
            cut_lines: 0,
            cut_bytes: 0,
        }
    }

    /// Add one line (amortised O(line length)).
    pub fn push(&mut self, line: &str) {
        // The head takes lines while they fit and nothing went past it yet, so
        // its lines are always the very first ones.
        let head_open = self.tail.is_empty() && self.cut_lines == 0;
        if head_open && self.head_bytes + line.len() < self.head_cap {
            self.head_bytes += line.len() + 1;
            self.head.push(line.to_string());
            return;
        }
        let kept = prefix(line, self.tail_cap.saturating_sub(1));
        self.cut_bytes += (line.len() - kept.len()) as u64;
        self.tail_bytes += kept.len() + 1;
        self.tail.push_back(kept.to_string());
        while self.tail_bytes > self.tail_cap {
            let Some(old) = self.tail.pop_front() else { break };
            self.tail_bytes -= old.len() + 1;
            self.cut_lines += 1;
            self.cut_bytes += old.len() as u64 + 1;
        }
    }

    /// Lines cut out of the middle.
    pub fn cut_lines(&self) -> u64 {
        self.cut_lines
    }

    /// Bytes cut: those of the lines cut and the ends of lines too long to keep whole.
    pub fn cut_bytes(&self) -> u64 {
        self.cut_bytes
    }

    /// Bytes of the lines kept, one newline each included.
    pub fn bytes(&self) -> usize {
        self.head_bytes + self.tail_bytes
    }

    /// Nothing was pushed (or everything pushed was empty and cut).
    pub fn is_empty(&self) -> bool {
        self.head.is_empty() && self.tail.is_empty() && self.cut_lines == 0
    }

    /// The line that stands for what was cut, if anything was.
    pub fn marker(&self) -> Option<String> {
        (self.cut_lines > 0 || self.cut_bytes > 0).then(|| {
            format!(
                "… {} ({}) cut …",
                crate::text::count(self.cut_lines, "line", "lines"),
                crate::text::count(self.cut_bytes, "byte", "bytes")
            )
        })
    }

    /// The head, then the marker if anything was cut, then the tail.
    pub fn lines(&self) -> impl Iterator<Item = Cow<'_, str>> + '_ {
        let head = self.head.iter().map(|l| Cow::Borrowed(l.as_str()));
        let tail = self.tail.iter().map(|l| Cow::Borrowed(l.as_str()));
        head.chain(self.marker().map(Cow::Owned)).chain(tail)
    }
}

/// `text` with every occurrence of each secret (empty ones ignored) replaced
/// by [`MASK`]. Occurrences that overlap or touch (of one secret or of
/// several, e.g. `pass` inside `password`) become one mask, so no part of a
/// secret is left in view; the longest secret at a place wins.
pub fn mask(text: &str, secrets: &[String]) -> String {
    let mut secrets: Vec<&str> = secrets.iter().map(String::as_str).filter(|s| !s.is_empty()).collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for s in &secrets {
        let mut from = 0;
        while let Some(i) = text[from..].find(s) {
            let start = from + i;
            spans.push((start, start + s.len()));
            // Overlapping occurrences too (`aa` in `aaa`): go on one char later.
            from = start + text[start..].chars().next().map_or(1, char::len_utf8);
        }
    }
    if spans.is_empty() {
        return text.to_string();
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut iter = spans.into_iter().peekable();
    while let Some((start, mut end)) = iter.next() {
        while let Some(&(s, e)) = iter.peek()
            && s <= end
        {
            end = end.max(e);
            iter.next();
        }
        out.push_str(&text[at..start]);
        out.push_str(MASK);
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all(log: &StepLog) -> Vec<String> {
        log.lines().map(Cow::into_owned).collect()
    }

    #[test]
    fn a_log_under_its_caps_keeps_everything_and_no_marker() {
        let mut log = StepLog::new(10, 10);
        for l in ["a", "bb", "ccc"] {
            log.push(l);
        }
        assert_eq!(all(&log), ["a", "bb", "ccc"]);
        assert_eq!((log.cut_lines(), log.cut_bytes(), log.bytes()), (0, 0, 9));
        assert!(log.marker().is_none());
    }

    #[test]
    fn a_long_log_keeps_head_and_tail_and_says_what_was_cut() {
        let mut log = StepLog::new(6, 6);
        for l in ["1a", "2b", "3c", "4d", "5e", "6f", "7g"] {
            log.push(l);
        }
        assert_eq!(all(&log), ["1a", "2b", "… 3 lines (9 bytes) cut …", "6f", "7g"]);
        let back: StepLog = serde_json::from_str(&serde_json::to_string(&log).unwrap()).unwrap();
        assert_eq!(back, log, "stored and read back");
    }

    #[test]
    fn a_line_longer_than_the_cap_is_cut_on_a_char_boundary() {
        let mut log = StepLog::new(3, 5);
        log.push("ééé"); // 6 bytes: past the head, cut to 4 bytes in the tail
        assert_eq!(all(&log), ["… 0 lines (2 bytes) cut …", "éé"]);
        log.push("x");
        assert_eq!(all(&log), ["… 1 line (7 bytes) cut …", "x"]);
    }

    #[test]
    fn zero_caps_keep_nothing_but_count() {
        let mut log = StepLog::new(0, 0);
        log.push("abc");
        log.push("");
        assert_eq!(all(&log), ["… 2 lines (5 bytes) cut …"]);
    }

    proptest! {
        #[test]
        fn head_is_a_prefix_tail_a_suffix_and_the_caps_hold(
            lines in proptest::collection::vec("\\PC{0,12}|(?s:.{0,6})", 0..60),
            head_cap in 0usize..40,
            tail_cap in 0usize..40,
        ) {
            let mut log = StepLog::new(head_cap, tail_cap);
            for l in &lines {
                log.push(l);
            }
            prop_assert!(log.head_bytes <= head_cap && log.tail_bytes <= tail_cap);
            let marker = log.marker().map_or(0, |m| m.len());
            let kept: usize = log.lines().map(|l| l.len()).sum();
            prop_assert!(kept <= head_cap + tail_cap + marker);
            prop_assert_eq!(kept + log.head.len() + log.tail.len(), log.bytes() + marker);
            // The head is the input's first lines, unchanged.
            prop_assert_eq!(&log.head[..], &lines[..log.head.len()]);
            // The tail is its last lines, each a prefix of the input's line (cut when too long).
            let n = log.tail.len();
            for (kept, orig) in log.tail.iter().zip(&lines[lines.len() - n..]) {
                prop_assert!(orig.starts_with(kept.as_str()));
            }
            // Nothing is lost without being counted.
            let total: usize = lines.iter().map(|l| l.len() + 1).sum();
            prop_assert_eq!(total as u64, log.bytes() as u64 + log.cut_bytes());
            prop_assert_eq!(lines.len() as u64, (log.head.len() + n) as u64 + log.cut_lines());
        }

        #[test]
        fn a_masked_text_holds_no_secret(
            text in "[ab€]{0,30}",
            secrets in proptest::collection::vec("[ab€]{0,4}", 0..4),
        ) {
            let masked = mask(&text, &secrets);
            for s in secrets.iter().filter(|s| !s.is_empty()) {
                // Each piece between masks holds no secret, even across overlaps.
                for piece in masked.split(MASK) {
                    prop_assert!(!piece.contains(s.as_str()), "{:?} in {:?} of {:?}", s, piece, masked);
                }
            }
        }
    }

    #[test]
    fn secrets_are_masked_longest_first_and_overlaps_merge() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(mask("user=admin pass=hunter2", &s(&["hunter2"])), "user=admin pass=••••");
        assert_eq!(mask("password and pass", &s(&["pass", "password"])), "•••• and ••••", "a substring of another");
        assert_eq!(mask("xabcdx", &s(&["abc", "bcd"])), "x••••x", "overlapping secrets: one mask");
        assert_eq!(mask("aaa", &s(&["aa"])), "••••", "overlapping occurrences of one secret");
        assert_eq!(mask("tok tok", &s(&["tok", ""])), "•••• ••••", "an empty secret is ignored");
        assert_eq!(mask("nothing here", &s(&[])), "nothing here");
        assert_eq!(mask("é€é", &s(&["€"])), "é••••é", "multi-byte text");
    }
}
