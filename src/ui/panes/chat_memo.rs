//! The transcript's rendered answers, kept between frames.
//!
//! Drawing stays a function of the state: this memo only remembers lines the
//! Markdown renderer already gave for the same text, width and styles, so a
//! frame drawn with it is the frame drawn without it. What it saves: an
//! answer that is streaming is fed to a [`MarkdownCache`], which renders only
//! its open last block again when a token arrives; a finished answer is not
//! parsed again at all while it stays on screen.
//!
//! One memo per thread (the TUI draws on one; parallel tests each get their
//! own), holding the answers of one conversation, at most [`MEMO_MESSAGES`]
//! of them: opening another conversation, or scrolling past that many,
//! starts it over.

use std::cell::RefCell;
use std::collections::HashMap;

use ratatui::text::Line;

use crate::ui::widgets::markdown::{MarkdownCache, MarkdownStyles};

/// Answers remembered at most (a screen shows far fewer).
pub const MEMO_MESSAGES: usize = 64;

#[derive(Default)]
struct Memo {
    /// The conversation the entries belong to.
    conversation: String,
    /// By message index.
    answers: HashMap<usize, MarkdownCache>,
}

thread_local! {
    static MEMO: RefCell<Memo> = RefCell::new(Memo::default());
}

/// Message `index` of `conversation` (Markdown `md`) as lines of at most
/// `width` cells: exactly `markdown::render(md, width, styles)`, reusing what
/// was rendered for it on earlier frames.
pub fn answer_lines(
    conversation: &str,
    index: usize,
    md: &str,
    width: u16,
    styles: &MarkdownStyles,
) -> Vec<Line<'static>> {
    MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        if memo.conversation != conversation {
            memo.conversation.clear();
            memo.conversation.push_str(conversation);
            memo.answers.clear();
        }
        if memo.answers.len() >= MEMO_MESSAGES && !memo.answers.contains_key(&index) {
            memo.answers.clear();
        }
        memo.answers.entry(index).or_default().lines(md, width, styles).to_vec()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::widgets::markdown::render;

    const ANSWER: &str = "# Disk\n\nThe `/var` mount is **95%** full.\n\n```sh\ndu -sh /var/* | sort -h\n```\n\n| mount | used |\n|---|---|\n| / | 40% |\n";

    /// Fed token by token, across conversations and widths, the memo gives
    /// what a whole render gives at every step.
    #[test]
    fn the_memo_draws_what_a_whole_render_draws() {
        let styles = MarkdownStyles::plain();
        let cuts: Vec<usize> = (0..=ANSWER.len()).filter(|&i| ANSWER.is_char_boundary(i)).collect();
        for (step, &end) in cuts.iter().enumerate() {
            let md = &ANSWER[..end];
            let width = if step % 17 == 0 { 20 } else { 44 };
            assert_eq!(answer_lines("c1", 1, md, width, &styles), render(md, width, &styles), "prefix {end}");
            // Another conversation drawn in between (a second TUI frame, a test).
            if step % 5 == 0 {
                assert_eq!(answer_lines("c2", 1, "other", width, &styles), render("other", width, &styles));
            }
        }
        // A shorter text than the last one (an edit, a regenerate) starts over.
        assert_eq!(answer_lines("c1", 1, "plain", 44, &styles), render("plain", 44, &styles));
    }

    #[test]
    fn more_messages_than_the_memo_holds_still_draw_right() {
        let styles = MarkdownStyles::plain();
        for i in 0..MEMO_MESSAGES * 2 + 3 {
            let md = format!("answer *{i}*");
            assert_eq!(answer_lines("long", i, &md, 30, &styles), render(&md, 30, &styles));
        }
        MEMO.with(|m| assert!(m.borrow().answers.len() <= MEMO_MESSAGES));
    }
}
