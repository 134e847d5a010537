//! The chat pane: conversations beside the transcript, the input below.
//!
//! The transcript renders only the messages that reach the screen (from
//! the end while following, from the selected message otherwise), so a long
//! conversation costs no more per frame than a short one. Answers are
//! Markdown; a streaming answer's code is highlighted once it is whole.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::panes::chat::ChatState;
use crate::app::panes::chat::cost;
use crate::app::panes::chat::draft::{PROPOSE_TOOL, call_words};
use crate::app::{AppState, BoxId};
use crate::config::theme::{Role as R, Theme};
use crate::protocol::chat::{ChatMessage, Finish, Role, ToolCallState};
use crate::text;
use crate::ui::boxed;
use crate::ui::widgets::list::ListWindow;
use crate::ui::widgets::markdown::MarkdownStyles;
use crate::ui::widgets::{fit, fmt, text_memo};

/// The chat pane's boxes for a body area: the list (when shown) left, the
/// transcript above the input right.
pub fn layout(body: Rect, s: &AppState) -> Vec<(BoxId, Rect)> {
    let c = &s.chat;
    let (list, right) = if c.show_list && body.width >= 60 {
        // Search hits (title and snippet) need more room than titles.
        let w = if c.search.is_some() { (body.width * 2 / 5).clamp(24, 56) } else { (body.width / 4).clamp(18, 34) };
        let [l, r] = Layout::horizontal([Constraint::Length(w), Constraint::Min(20)]).areas(body);
        (Some(l), r)
    } else {
        (None, body)
    };
    let attached = super::chat_attach::pending_rows(c, right.height);
    let input_h =
        (c.input.line_count() as u16 + 2 + attached).clamp(3 + attached, (right.height / 3).max(3) + attached);
    let [tr, inp] = Layout::vertical([Constraint::Min(3), Constraint::Length(input_h)]).areas(right);
    let mut v = Vec::new();
    if let Some(l) = list {
        v.push((BoxId::ChatList, l));
    }
    v.extend([(BoxId::ChatTranscript, tr), (BoxId::ChatInput, inp)]);
    v
}

pub fn render_box(f: &mut Frame, area: Rect, id: BoxId, s: &AppState, t: &Theme) {
    let focused = s.focus == id;
    match id {
        BoxId::ChatList => render_list(f, area, s, focused, t),
        BoxId::ChatInput => render_input(f, area, s, focused, t),
        _ => {
            // A workflow draft takes the lower part of the transcript's area.
            let h = super::chat_draft::height(&s.chat, area.height);
            let [tr, draft] = Layout::vertical([Constraint::Min(3), Constraint::Length(h)]).areas(area);
            render_transcript(f, tr, s, focused, t);
            if h > 0 {
                super::chat_draft::render(f, draft, &s.chat, t);
            }
        }
    }
}

/// The conversation list's rows (inside its border).
pub fn list_window(area: Rect, id: BoxId, s: &AppState) -> Option<ListWindow> {
    // A prompt (search, rename) covers the rows: clicks do not select under it.
    let rows = s.chat.search.is_none() && s.chat.rename.is_none();
    (id == BoxId::ChatList && rows).then(|| ListWindow::new(inner(area), s.chat.list_sel, s.chat.list.len()))
}

fn inner(area: Rect) -> Rect {
    Rect::new(area.x + 1, area.y + 1, area.width.saturating_sub(2), area.height.saturating_sub(2))
}

fn render_list(f: &mut Frame, area: Rect, s: &AppState, focused: bool, t: &Theme) {
    if super::chat_convs::render_list(f, area, s, focused, t) {
        return;
    }
    let c = &s.chat;
    let title = Line::from(format!("Conversations {}", c.list.len()));
    f.render_widget(boxed(title, focused, t, area.width), area);
    let win = ListWindow::new(inner(area), c.list_sel, c.list.len());
    let w = usize::from(win.rows.width);
    if c.list.is_empty() {
        let hint = "none saved yet: your first question starts one";
        let lines: Vec<Line> =
            text::wrap_words(hint, w.max(1)).into_iter().map(|l| Line::styled(l, t.style(R::TextDim))).collect();
        f.render_widget(Paragraph::new(lines), win.rows);
        return;
    }
    let mut lines = Vec::new();
    for i in win.shown() {
        let m = &c.list[i];
        let open = m.id == c.conv.meta.id;
        let age = fmt::age(s.now.saturating_sub(m.updated));
        let mark = if open { "● " } else { "  " };
        let room = w.saturating_sub(text::width(mark) + text::width(&age) + 1);
        let title = if m.title.is_empty() { "(untitled)" } else { m.title.as_str() };
        let name = text::fit(&text::clean(title), room);
        let pad = room.saturating_sub(text::width(&name));
        let style = if i == c.list_sel && focused { t.style(R::Selection) } else { t.style(R::Text) };
        lines.push(Line::from(vec![
            Span::styled(format!("{mark}{name}{}", " ".repeat(pad)), style),
            Span::styled(format!(" {age}"), t.style(R::TextDim)),
        ]));
    }
    f.render_widget(Paragraph::new(lines), win.rows);
}

fn render_input(f: &mut Frame, area: Rect, s: &AppState, focused: bool, t: &Theme) {
    let c = &s.chat;
    let what = if c.asked_call().is_some() {
        format!("Ask (a tool call waits for {}/{})", c.keys[0], c.keys[1])
    } else if c.busy() {
        "Ask (an answer is coming)".to_string()
    } else {
        "Ask".to_string()
    };
    // With no provider nothing is asked, and before the registry is read
    // the count would be a wrong 0: no tool count to give then.
    let title = if c.providers == 0 || s.tools.catalog.is_empty() {
        format!("{what} · {}", c.model_label())
    } else {
        format!("{what} · {} · {}", c.model_label(), c.tools_label(&s.tools.catalog, s.read_only))
    };
    let title = Line::from(title);
    f.render_widget(boxed(title, focused, t, area.width), area);
    let cursor = if focused { t.style(R::InputCursor) } else { t.style(R::Input) };
    let mut w = c.input.widget(t.style(R::Input), cursor);
    if c.input.text().is_empty() && !focused {
        w.set_placeholder_text("i or Enter to write a question");
    }
    let body = inner(area);
    // The box was sized for the attachments and the text; a long text keeps one line for them.
    let total = super::chat_attach::pending_rows(c, u16::MAX);
    let lines = u16::try_from(c.input.line_count()).unwrap_or(u16::MAX);
    let rows = total.min(body.height.saturating_sub(lines)).max(total.min(1)).min(body.height.saturating_sub(1));
    let [att, text_area] = Layout::vertical([Constraint::Length(rows), Constraint::Min(1)]).areas(body);
    if rows > 0 {
        let lines = super::chat_attach::pending_lines(c, rows, usize::from(att.width), t);
        f.render_widget(Paragraph::new(lines), att);
    }
    f.render_widget(&w, text_area);
}

fn render_transcript(f: &mut Frame, area: Rect, s: &AppState, focused: bool, t: &Theme) {
    let c = &s.chat;
    let mut title =
        vec![Span::raw(if c.conv.meta.title.is_empty() { "Chat".to_string() } else { c.conv.meta.title.clone() })];
    let u = c.conversation_usage();
    if u.total() > 0 {
        let approx = if u.estimated { "~" } else { "" };
        title.push(Span::styled(format!(" · {approx}{} tok", u.total()), t.style(R::TextDim)));
    }
    f.render_widget(boxed(Line::from(title), focused, t, area.width), area);
    let body = inner(area);
    if body.height == 0 || body.width == 0 {
        return;
    }
    if c.conv.messages.is_empty() {
        f.render_widget(Paragraph::new(empty_lines(s, usize::from(body.width), t)), body);
        return;
    }
    let width = usize::from(body.width);
    let height = usize::from(body.height);
    let want = height + usize::from(c.scroll);
    let lines: Vec<Line<'static>> = match c.sel {
        None => {
            // From the end backwards until the box (and the scroll) is filled.
            let mut chunks: Vec<Vec<Line>> = Vec::new();
            let mut n = 0;
            for i in (0..c.conv.messages.len()).rev() {
                let l = message_lines(s, i, width, t);
                n += l.len();
                chunks.push(l);
                if n >= want {
                    break;
                }
            }
            let all: Vec<Line> = chunks.into_iter().rev().flatten().collect();
            let end = all.len().saturating_sub(usize::from(c.scroll)).max(height.min(all.len()));
            let start = end.saturating_sub(height);
            all[start..end].to_vec()
        }
        Some(sel) => {
            let mut all = Vec::new();
            for i in sel..c.conv.messages.len() {
                all.extend(message_lines(s, i, width, t));
                if all.len() >= want {
                    break;
                }
            }
            let start = usize::from(c.scroll).min(all.len().saturating_sub(1));
            all.into_iter().skip(start).take(height).collect()
        }
    };
    // Kept as cells between frames: a key typed below does not draw it again.
    text_memo::render_lines(f.buffer_mut(), body, "chat-transcript", lines);
}

/// What the transcript says before the first question.
fn empty_lines(s: &AppState, width: usize, t: &Theme) -> Vec<Line<'static>> {
    let c = &s.chat;
    let dim = t.style(R::TextDim);
    let mut out = Vec::new();
    let para = |out: &mut Vec<Line<'static>>, text: &str, style: Style| {
        for l in text::wrap_words(text, width.max(1)) {
            out.push(Line::styled(l, style));
        }
    };
    if c.providers == 0 {
        para(&mut out, "No LLM provider is configured. Add one to config.toml, for example:", t.style(R::Text));
        for l in [
            "",
            "  [[provider]]",
            "  name = \"local\"",
            "  kind = \"openai\"        # or \"anthropic\"",
            "  base_url = \"http://127.0.0.1:11434/v1\"",
            "  models = [\"llama3.2\"]",
            "",
        ] {
            out.push(Line::styled(l.to_string(), t.style(R::TextAccent)));
        }
        para(&mut out, "A key, if the server needs one: opsdeck key set provider:NAME (kept in the OS keyring).", dim);
        para(
            &mut out,
            &format!("Then reload ({}). docs/chat.md lists providers, the fallback chain and tool calls.", c.keys[6]),
            dim,
        );
        out.push(Line::raw(""));
        match (&c.found, c.looking) {
            (_, true) => para(
                &mut out,
                "Looking for a local server on ports 11434, 8080, 1234 and 8000…",
                t.style(R::StatusInfo),
            ),
            (None, false) => para(
                &mut out,
                &format!(
                    "{} looks for a local server (Ollama, llama.cpp, LM Studio, vLLM) on this machine.",
                    c.keys[4]
                ),
                t.style(R::Text),
            ),
            (Some(found), false) if found.is_empty() => para(
                &mut out,
                &format!("No local server answered on 11434, 8080, 1234 or 8000 ({} looks again).", c.keys[4]),
                t.style(R::StatusWarn),
            ),
            (Some(found), false) => {
                for (i, f) in found.iter().enumerate() {
                    let models = if f.models.is_empty() { "no models listed".to_string() } else { f.models.join(", ") };
                    let add = if i == 0 { format!(" — {} adds it to config.toml", c.keys[5]) } else { String::new() };
                    para(&mut out, &format!("Found {} at {}: {models}{add}", f.name, f.base_url), t.style(R::StatusOk));
                }
            }
        }
        return out;
    }
    para(&mut out, &format!("Ask anything: the question goes to {}.", c.model_label()), t.style(R::Text));
    para(
        &mut out,
        "Tools the model may call ask you first (y runs, N refuses); read-only ones are offered by default.",
        dim,
    );
    out
}

/// One message's lines: a header, the body, its tool calls, how it ended.
fn message_lines(s: &AppState, i: usize, width: usize, t: &Theme) -> Vec<Line<'static>> {
    let c = &s.chat;
    let m = &c.conv.messages[i];
    let selected = c.sel == Some(i);
    let mut out = Vec::new();
    let streaming = c.turn.as_ref().is_some_and(|tn| tn.message == i && !tn.waiting_tools);
    match m.role {
        Role::System => return out,
        Role::Tool => {
            let first = m.content.lines().next().unwrap_or("");
            let size = fmt::bytes(m.content.len() as f64);
            let line = format!("  ↳ result ({size}): {}", text::clean(first));
            out.push(Line::styled(text::fit(&line, width), t.style(R::TextDim)));
            return out;
        }
        _ => {}
    }
    out.push(header(m, message_cost(s, m), selected, width, t));
    for sk in &m.skipped {
        let l = format!("↷ skipped {}: {}", sk.model, sk.reason);
        indented(&mut out, &l, 2, 4, width, t.style(R::StatusWarn));
    }
    if streaming && m.content.is_empty() && m.tool_calls.is_empty() {
        let who = c.turn.as_ref().and_then(|t| t.trying.as_ref()).map_or_else(|| "the model".into(), |m| m.to_string());
        out.push(Line::styled(format!("  ⟳ waiting for {who}…"), t.style(R::StatusInfo)));
    }
    if let Some(tn) = c.turn.as_ref().filter(|tn| tn.message == i && tn.trimmed > 0) {
        let l = format!("  … {} earlier messages left out of the request to fit the context", tn.trimmed);
        out.push(Line::styled(text::fit(&l, width), t.style(R::TextDim)));
    }
    if !m.content.is_empty() {
        let w = width.saturating_sub(2).max(1) as u16;
        for l in markdown(&c.conv.meta.id, i, &m.content, w, m.role, t) {
            let mut spans = vec![Span::raw("  ")];
            spans.extend(l.spans);
            out.push(Line::from(spans));
        }
    }
    out.extend(super::chat_attach::sent_lines(&m.attachments, width, t));
    for call in &m.tool_calls {
        // Valid JSON is shown compact (models indent it); anything else as sent.
        let compact = serde_json::from_str::<serde_json::Value>(&call.arguments).ok().map(|v| v.to_string());
        let args = text::clean(compact.as_deref().unwrap_or(&call.arguments)).into_owned();
        // Shown whole (wrapped) before anyone says yes; only a huge one is cut, saying so.
        let shown = if args.len() > 4_000 {
            format!("{}… ({} bytes in all)", text::prefix_for_width(&args, 3_000), args.len())
        } else {
            args
        };
        if call.name == PROPOSE_TOOL {
            // The whole file is in the draft box; here, what opsdeck did with it.
            let n = ChatState::proposal_lines(&call.arguments);
            let l = format!("⚙ {PROPOSE_TOOL} ({})", text::count(n as u64, "line", "lines"));
            indented(&mut out, &l, 2, 4, width, t.style(R::TextAccent));
            if let Some(words) = call_words(&call.state) {
                let role =
                    if matches!(call.state, ToolCallState::Done { ok: false }) { R::StatusWarn } else { R::StatusInfo };
                indented(&mut out, words, 4, 6, width, t.style(role));
                continue;
            }
        } else {
            let l = format!("⚙ {} {}", text::clean(&call.name), shown);
            indented(&mut out, &l, 2, 4, width, t.style(R::TextAccent));
            if let Some(asked) = &call.model_arguments {
                // What ran is above; what the model had asked for, once, cut.
                let asked = if asked.len() > 4_000 { text::prefix_for_width(asked, 3_000) } else { asked.as_str() };
                let l = format!("✎ edited before the run; the model asked: {asked}");
                indented(&mut out, &l, 4, 6, width, t.style(R::TextDim));
            }
        }
        let (line, role) = match &call.state {
            ToolCallState::Asked if streaming => ("… the arguments are arriving".to_string(), R::TextDim),
            ToolCallState::Asked => (
                format!("? run it? {} runs · {} refuses · {} edits the arguments", c.keys[0], c.keys[1], c.keys[8]),
                R::StatusWarn,
            ),
            ToolCallState::Running => ("⟳ running".to_string(), R::StatusInfo),
            ToolCallState::Done { ok: true } => ("✓ ran".to_string(), R::StatusOk),
            ToolCallState::Done { ok: false } => {
                ("✗ failed (the error went back to the model)".to_string(), R::StatusFailed)
            }
            ToolCallState::Refused { reason } => (format!("✗ not run: {reason}"), R::StatusFailed),
        };
        indented(&mut out, &line, 4, 6, width, t.style(role));
    }
    if let Some(f) = &m.finish {
        let cont = format!("{} continues", c.keys[2]);
        let note = match f {
            Finish::Stop | Finish::ToolCalls => None,
            Finish::Length => Some(format!("✂ cut at max_tokens: {cont}")),
            Finish::Unfinished => Some(format!("✂ the stream ended without a finish reason: {cont}")),
            Finish::Cancelled => Some(format!("■ stopped: {cont}")),
            Finish::Cut { .. } | Finish::Other { .. } => None,
        };
        if let Some(n) = note {
            indented(&mut out, &n, 2, 4, width, t.style(R::StatusWarn));
        }
        if let Finish::Cut { error } = f {
            let what = if m.content.is_empty() { "✗ no answer" } else { "✂ cut" };
            let cont = if m.content.is_empty() { format!("{} asks again", c.keys[3]) } else { cont };
            indented(&mut out, &format!("{what}: {error} — {cont}"), 2, 4, width, t.style(R::StatusFailed));
        }
        if let Finish::Other { name } = f {
            out.push(Line::styled(text::fit(&format!("  ended: {name}"), width), t.style(R::TextDim)));
        }
    }
    out.push(Line::raw(""));
    out
}

/// `text` cleaned and word-wrapped to `width`: the first line indented by
/// `first` cells, the rest by `rest` (a hanging indent).
fn indented(out: &mut Vec<Line<'static>>, text: &str, first: usize, rest: usize, width: usize, style: Style) {
    let text = text::clean(text);
    let first_room = width.saturating_sub(first).max(1);
    let mut lines = text::wrap_words(&text, first_room).into_iter();
    if let Some(l) = lines.next() {
        out.push(Line::styled(format!("{}{l}", " ".repeat(first)), style));
    }
    let tail: String = lines.collect::<Vec<_>>().join(" ");
    if !tail.is_empty() {
        for l in text::wrap_words(&tail, width.saturating_sub(rest).max(1)) {
            out.push(Line::styled(format!("{}{l}", " ".repeat(rest)), style));
        }
    }
}

/// `▌You · 10:42` or `▌local/smollm2 · 10:42 · 12+340 tok · 0.0012`.
fn header(m: &ChatMessage, cost: Option<f64>, selected: bool, width: usize, t: &Theme) -> Line<'static> {
    let who = match m.role {
        Role::User => "You".to_string(),
        _ => m.model.as_ref().map_or_else(|| "Assistant".into(), |r| r.to_string()),
    };
    let clock =
        chrono::DateTime::from_timestamp_millis(m.ts).map_or_else(String::new, |d| d.format("%H:%M").to_string());
    let mut tail = format!(" · {clock}");
    if let Some(u) = &m.usage {
        let approx = if u.estimated { "~" } else { "" };
        tail.push_str(&format!(" · {approx}{}+{} tok", u.input, u.output));
    }
    if let Some(c) = cost {
        tail.push_str(&format!(" · {c:.4}"));
    }
    let style = if selected { t.style(R::Selection) } else { t.style(R::Title).add_modifier(Modifier::BOLD) };
    let spans = vec![Span::styled(format!("▌{}", text::clean(&who)), style), Span::styled(tail, t.style(R::TextDim))];
    Line::from(fit::fit_spans(spans, width))
}

/// An answer's Markdown as lines of at most `width` cells. A question is
/// shown as typed (line breaks kept, nothing read as Markdown). Answers come
/// through the frame-to-frame memo (message `index` of `conversation`).
fn markdown(conversation: &str, index: usize, md: &str, width: u16, role: Role, t: &Theme) -> Vec<Line<'static>> {
    if role == Role::User {
        return md
            .split('\n')
            .flat_map(|l| {
                // A blank line of the question stays a blank line.
                let wrapped = text::wrap_words(&text::clean(l), usize::from(width));
                if wrapped.is_empty() { vec![String::new()] } else { wrapped }
            })
            .map(|l| Line::styled(l, t.style(R::Text)))
            .collect();
    }
    super::chat_memo::answer_lines(conversation, index, md, width, &MarkdownStyles::from_theme(t, t.has_color()))
}

/// The cost of a message at its provider's prices (for the header), if priced.
pub fn message_cost(s: &AppState, m: &ChatMessage) -> Option<f64> {
    let u = m.usage.as_ref()?;
    let p = s.chat.prices.get(&m.model.as_ref()?.provider)?;
    cost(u, p.0, p.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A question's blank lines (a pasted TOML file, paragraphs) stay blank
    /// lines in the transcript; long lines still wrap.
    #[test]
    fn a_questions_blank_lines_are_kept() {
        let t = Theme::fallback(true);
        let text = |md: &str, w: u16| -> Vec<String> {
            markdown("c", 0, md, w, Role::User, &t).iter().map(|l| l.to_string()).collect()
        };
        assert_eq!(text("name = \"disk\"\n\n[[step]]", 40), ["name = \"disk\"", "", "[[step]]"]);
        assert_eq!(text("one two three\n\n\nfour", 8), ["one two", "three", "", "", "four"]);
    }
}
