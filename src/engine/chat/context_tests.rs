use proptest::prelude::*;

use super::*;
use crate::protocol::chat::ToolCall;

fn msg(role: Role, len: usize) -> ChatMessage {
    ChatMessage::new(role, "x".repeat(len), 0)
}

fn with_call(len: usize) -> ChatMessage {
    let mut m = msg(Role::Assistant, len);
    m.tool_calls.push(ToolCall {
        id: "c".into(),
        name: "df".into(),
        arguments: "{}".into(),
        state: Default::default(),
        model_arguments: None,
    });
    m
}

#[test]
fn estimates_are_a_quarter_of_the_bytes_rounded_up() {
    assert_eq!(estimate_tokens(""), 0);
    assert_eq!(estimate_tokens("abcd"), 1);
    assert_eq!(estimate_tokens("abcde"), 2);
}

#[test]
fn everything_fits_or_the_oldest_turns_go() {
    let conv =
        vec![msg(Role::User, 400), msg(Role::Assistant, 400), msg(Role::User, 40), with_call(0), msg(Role::Tool, 40)];
    let all = fit(&conv, "", &[], 10_000, 1000);
    assert_eq!((all.start, all.dropped), (0, 0));
    let tight = fit(&conv, "", &[], 1000 + 100, 1000);
    assert_eq!((tight.start, tight.dropped), (2, 2), "the call stays with its result");
    assert!(tight.estimated_tokens <= 100);
    let none = fit(&conv, "", &[], 1000, 1000);
    assert_eq!(none.start, 2, "the last user message is always kept");
}

#[derive(Debug, Clone)]
enum Turn {
    Ask(usize),
    Answer(usize),
    Calls(usize, usize),
}

fn turns() -> impl Strategy<Value = Vec<Turn>> {
    prop::collection::vec(
        prop_oneof![
            (0..400usize).prop_map(Turn::Ask),
            (0..400usize).prop_map(Turn::Answer),
            (1..3usize, 0..400usize).prop_map(|(n, l)| Turn::Calls(n, l)),
        ],
        0..30,
    )
}

fn build(turns: &[Turn]) -> Vec<ChatMessage> {
    let mut out = Vec::new();
    for t in turns {
        match *t {
            Turn::Ask(l) => out.push(msg(Role::User, l)),
            Turn::Answer(l) => out.push(msg(Role::Assistant, l)),
            Turn::Calls(n, l) => {
                let mut m = with_call(l);
                for _ in 1..n {
                    m.tool_calls.push(m.tool_calls[0].clone());
                }
                out.push(m);
                out.extend((0..n).map(|_| msg(Role::Tool, l)));
            }
        }
    }
    out
}

proptest! {
    #[test]
    fn fitting_keeps_whole_turns_and_the_last_question(t in turns(), context in 0u32..4000, max in 0u32..2000, sys in 0usize..800) {
        let conv = build(&t);
        let system = "s".repeat(sys);
        let f = fit(&conv, &system, &[], context, max);
        let budget = u64::from(context.saturating_sub(max));
        prop_assert_eq!(f.dropped, f.start);
        prop_assert!(f.start == 0 || conv[f.start].role == Role::User, "starts a turn");
        if let Some(last) = conv.iter().rposition(|m| m.role == Role::User) {
            prop_assert!(f.start <= last, "keeps the last user message");
        } else {
            prop_assert_eq!(f.start, 0);
        }
        let kept: u64 = conv[f.start..].iter().map(message_tokens).sum::<u64>() + estimate_tokens(&system) + 4;
        prop_assert_eq!(f.estimated_tokens, kept);
        // Nothing more was dropped than needed: the turn start before fits no better.
        if let Some(prev) = (0..f.start).rev().find(|&i| i == 0 || conv[i].role == Role::User) {
            let with_prev: u64 = conv[prev..].iter().map(message_tokens).sum::<u64>() + estimate_tokens(&system) + 4;
            prop_assert!(with_prev > budget);
        }
        // A larger window never drops more.
        let wider = fit(&conv, &system, &[], context.saturating_add(1000), max);
        prop_assert!(wider.start <= f.start);
    }
}
