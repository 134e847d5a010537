//! What `opsdeck runs …` says to a person.

use serde_json::json;

use super::done_text;

#[test]
fn an_answer_reads_as_words_not_json() {
    assert_eq!(done_text(&json!({"approved": true, "run": 7, "step": "ok"})), "✓ run #7: step ok approved");
    assert_eq!(done_text(&json!({"run": 3})), "✓ run #3");
    assert_eq!(done_text(&json!({"cancelled": true, "run": 3, "late": false})), "✓ run #3 cancelled");
    assert_eq!(done_text(&json!(null)), "✓ done");
}
