//! A conversation as a Markdown document: what "export" writes to a file and
//! copies with OSC 52. Pure: the same conversation always gives the same text.
//!
//! Shape: `# title`, a line with the creation time (UTC) and totals, then one
//! section per message — `## You`, `## Assistant (provider/model)`,
//! `## System`, `## Tool result` — with the message's own Markdown as it is.
//! An assistant's tool calls are `### Tool call name(args)` (the arguments in
//! a fenced `json` block when they do not fit on one short line), attachments
//! are quoted blocks, tool results and attachments' text are fenced: text
//! from outside is never read as Markdown. Every fence is longer than the
//! longest run of backticks inside it, so a result holding ```` ``` ```` cannot
//! close it early.

use std::fmt::Write as _;

use super::Ts;
use super::chat::{ChatMessage, Conversation, Finish, Role, ToolCallState, Usage};

/// Arguments longer than this go in a fenced block under the heading.
const INLINE_ARGS: usize = 80;

/// The conversation as Markdown (see the module docs).
pub fn to_markdown(conv: &Conversation) -> String {
    let mut out = String::new();
    let meta = &conv.meta;
    let _ = writeln!(out, "# {}\n", one_line(meta.shown_title()));
    let mut facts = vec![format!("Created {}", utc(meta.created))];
    facts.push(crate::text::count(conv.messages.len() as u64, "message", "messages"));
    if meta.usage.total() > 0 {
        facts.push(tokens(&meta.usage));
    }
    let _ = writeln!(out, "{}", facts.join(" · "));
    for m in &conv.messages {
        out.push('\n');
        message(&mut out, m);
    }
    out
}

fn message(out: &mut String, m: &ChatMessage) {
    match m.role {
        Role::User => out.push_str("## You\n"),
        Role::System => out.push_str("## System\n"),
        Role::Assistant => match &m.model {
            Some(model) => {
                let _ = writeln!(out, "## Assistant ({})", one_line(&model.to_string()));
            }
            None => out.push_str("## Assistant\n"),
        },
        Role::Tool => match &m.tool_call_id {
            Some(id) => {
                let _ = writeln!(out, "## Tool result ({})", one_line(id));
            }
            None => out.push_str("## Tool result\n"),
        },
    }
    for s in &m.skipped {
        let _ = writeln!(out, "\n*Skipped {}: {}*", one_line(&s.model.to_string()), one_line(&s.reason));
    }
    if m.role == Role::Tool {
        out.push('\n');
        fenced(out, "", &m.content, "");
    } else if !m.content.is_empty() {
        out.push('\n');
        out.push_str(&m.content);
        if !m.content.ends_with('\n') {
            out.push('\n');
        }
        // An answer cut inside a code block would swallow the rest of the document.
        if let Some(fence) = open_fence(&m.content) {
            out.push_str(&fence);
            out.push('\n');
        }
    }
    for a in &m.attachments {
        let _ = writeln!(out, "\n> **{}** ({})\n>", one_line(&a.title), one_line(&a.kind));
        fenced(out, "> ", &a.text, "");
    }
    for call in &m.tool_calls {
        tool_call(out, &call.name, &call.arguments, &call.state);
        if let Some(asked) = &call.model_arguments {
            out.push_str("\n*The user edited the arguments before the run; the model had asked for:*\n\n");
            fenced(out, "", asked, "json");
        }
    }
    if let Some(finish) = &m.finish
        && let Some(note) = finish_note(finish)
    {
        let _ = writeln!(out, "\n*{note}*");
    }
    if let Some(usage) = &m.usage {
        let _ = writeln!(out, "\n*{}*", tokens(usage));
    }
}

fn tool_call(out: &mut String, name: &str, args: &str, state: &ToolCallState) {
    let name = one_line(name);
    let short = args.chars().count() <= INLINE_ARGS && !args.contains('`') && one_line(args) == args;
    if short && !name.contains('`') {
        // A code span: nothing in the call is read as Markdown.
        let _ = writeln!(out, "\n### Tool call `{name}({args})`");
    } else {
        let fence = "`".repeat(longest_backtick_run(&name) + 1);
        let pad = if name.starts_with('`') || name.ends_with('`') { " " } else { "" };
        let _ = writeln!(out, "\n### Tool call {fence}{pad}{name}{pad}{fence}\n");
        fenced(out, "", args, "json");
    }
    let state = match state {
        ToolCallState::Asked => "not run: waiting for confirmation".to_string(),
        ToolCallState::Running => "running".to_string(),
        ToolCallState::Done { ok: true } => "ran".to_string(),
        ToolCallState::Done { ok: false } => "ran and failed".to_string(),
        ToolCallState::Refused { reason } => format!("refused: {}", one_line(reason)),
    };
    let _ = writeln!(out, "\n*{state}*");
}

fn finish_note(finish: &Finish) -> Option<String> {
    match finish {
        Finish::Stop | Finish::ToolCalls => None,
        Finish::Length => Some("The answer stopped at the model's length limit.".into()),
        Finish::Unfinished => Some("The answer ended without saying why: it may be cut.".into()),
        Finish::Cut { error } => Some(format!("The answer was cut: {}", one_line(error))),
        Finish::Cancelled => Some("Stopped by the user.".into()),
        Finish::Other { name } => Some(format!("The answer ended: {}", one_line(name))),
    }
}

/// `text` in a code fence longer than any backtick run in it, each line
/// (the fences too) prefixed with `prefix` (`> ` in a quote).
fn fenced(out: &mut String, prefix: &str, text: &str, lang: &str) {
    let fence = "`".repeat(longest_backtick_run(text).max(2) + 1);
    let _ = writeln!(out, "{prefix}{fence}{lang}");
    for line in text.lines() {
        let _ = writeln!(out, "{prefix}{line}");
    }
    let _ = writeln!(out, "{prefix}{fence}");
}

/// The fence that would close a code block left open at the end of
/// `markdown` (CommonMark: a line of 3 or more backticks or tildes, indented
/// at most 3 spaces, closed by at least as many of the same character).
fn open_fence(markdown: &str) -> Option<String> {
    let mut open: Option<(char, usize)> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start_matches(' ');
        if line.len() - trimmed.len() > 3 {
            continue;
        }
        let Some(c) = trimmed.chars().next().filter(|c| *c == '`' || *c == '~') else { continue };
        let run = trimmed.chars().take_while(|x| *x == c).count();
        if run < 3 {
            continue;
        }
        let rest = &trimmed[run..];
        match open {
            None if !(c == '`' && rest.contains('`')) => open = Some((c, run)),
            Some((oc, olen)) if oc == c && run >= olen && rest.trim().is_empty() => open = None,
            _ => {}
        }
    }
    open.map(|(c, n)| c.to_string().repeat(n))
}

fn longest_backtick_run(text: &str) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// Text for a heading or an emphasised line: one line, no control characters.
fn one_line(s: &str) -> String {
    crate::text::clean(s).into_owned()
}

fn tokens(u: &Usage) -> String {
    let about = if u.estimated { "about " } else { "" };
    format!("{about}{} tokens ({} in, {} out)", u.total(), u.input, u.output)
}

fn utc(ts: Ts) -> String {
    chrono::DateTime::from_timestamp_millis(ts)
        .map_or_else(|| format!("{ts} ms"), |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
}

#[cfg(test)]
mod tests {
    use super::super::chat::{Attachment, ConversationMeta, ModelRef, Skipped, ToolCall};
    use super::*;

    fn sample() -> Conversation {
        let model = |m: &str| Some(ModelRef { provider: "local".into(), model: m.into() });
        let mut ask = ChatMessage::new(Role::User, "Why is `/var` filling up?", 1_764_999_000_123);
        ask.attachments.push(Attachment {
            kind: "alert".into(),
            title: "alert DiskFilling{mount=\"/var\"}".into(),
            text: "value 93%\nfor 10m".into(),
        });
        let mut call = ChatMessage::new(Role::Assistant, "Let me look at the biggest files.", 1_764_999_001_000);
        call.model = model("smollm2");
        call.skipped.push(Skipped {
            model: ModelRef { provider: "openrouter".into(), model: "llama".into() },
            reason: "429 Too Many Requests".into(),
        });
        call.tool_calls.push(ToolCall {
            id: "call_0".into(),
            name: "file_search".into(),
            arguments: r#"{"path":"/var","min_size":"100M"}"#.into(),
            state: ToolCallState::Done { ok: true },
            model_arguments: Some(r#"{"path":"/"}"#.into()),
        });
        call.tool_calls.push(ToolCall {
            id: "call_1".into(),
            name: "shell".into(),
            arguments: "{\"command\": \"du -xsh /var/* 2>/dev/null | sort -h | tail -n 20 && journalctl --disk-usage\"}".into(),
            state: ToolCallState::Refused { reason: "mutating tools always ask; the user said no".into() },
            model_arguments: None,
        });
        call.usage = Some(Usage { input: 120, output: 30, estimated: false });
        call.finish = Some(Finish::ToolCalls);
        let mut result =
            ChatMessage::new(Role::Tool, "/var/log/journal 4.1G\nrun ```rm``` to clean", 1_764_999_002_000);
        result.tool_call_id = Some("call_0".into());
        let mut answer = ChatMessage::new(
            Role::Assistant,
            "The journal is large. Shrink it:\n\n```sh\njournalctl --vacuum-size=500M\n```",
            1_764_999_003_000,
        );
        answer.model = model("smollm2");
        answer.usage = Some(Usage { input: 200, output: 25, estimated: true });
        answer.finish = Some(Finish::Cut { error: "connection reset".into() });
        Conversation {
            meta: ConversationMeta {
                id: "1764999000123-7f3a".into(),
                title: "Why is `/var` filling up?".into(),
                created: 1_764_999_000_123,
                updated: 1_764_999_003_000,
                messages: 4,
                usage: Usage { input: 320, output: 55, estimated: true },
                tools: None,
                auto_allow_read_only: false,
                model: None,
            },
            messages: vec![ask, call, result, answer],
        }
    }

    #[test]
    fn a_conversation_exports_as_markdown() {
        insta::assert_snapshot!(to_markdown(&sample()));
    }

    #[test]
    fn a_fence_is_longer_than_any_backtick_run_inside() {
        let mut conv = sample();
        conv.messages[2].content = "a ```` b\n`````\n".into();
        let md = to_markdown(&conv);
        assert!(md.contains("\n``````\na ```` b\n`````\n``````\n"), "{md}");
        assert_eq!(longest_backtick_run("x`y``z"), 2);
        let mut out = String::new();
        fenced(&mut out, "> ", "plain", "");
        assert_eq!(out, "> ```\n> plain\n> ```\n");
    }

    #[test]
    fn an_answer_cut_inside_a_code_block_is_closed() {
        assert_eq!(open_fence("text\n```sh\nls\n"), Some("```".into()));
        assert_eq!(open_fence("````\n```\nstill open"), Some("````".into()));
        assert_eq!(open_fence("~~~\nx\n~~~\n```"), Some("```".into()));
        assert_eq!(open_fence("```\nx\n```"), None);
        assert_eq!(open_fence("``` a`b\n    ```\n"), None, "not fences: a backtick in the info, indented 4");
        let mut conv = sample();
        conv.messages[3].content = "Run:\n\n```sh\njournalctl --vac".into();
        let md = to_markdown(&conv);
        assert!(md.contains("journalctl --vac\n```\n\n*The answer was cut"), "{md}");
    }

    #[test]
    fn odd_text_stays_inside_its_lines() {
        let mut conv = sample();
        conv.meta.title = "two\nlines\u{1b}[2J".into();
        conv.meta.created = i64::MAX;
        conv.messages[1].tool_calls[0].name = "evil\n# heading".into();
        let md = to_markdown(&conv);
        assert!(md.starts_with("# two lines␛[2J\n"), "{md}");
        assert!(md.contains("### Tool call `evil # heading("), "{md}");
        conv.messages[1].tool_calls[0].name = "`x`".into();
        assert!(to_markdown(&conv).contains("### Tool call `` `x` ``\n\n```json\n{\"path\""));
        assert!(md.contains(&format!("Created {} ms", i64::MAX)));
        assert!(!md.contains('\u{1b}'));
    }
}
