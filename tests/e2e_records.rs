//! Saved user data that a build cannot read is kept aside and said, never
//! replaced by defaults and overwritten (issue 11, persisted state).

mod common;

use common::pty::Key;
use common::{OpsdeckEnv, TIMEOUT, expect_ok, quit_cleanly};
use opsdeck::engine::store::Store;

#[test]
fn unreadable_saved_chains_are_kept_aside_and_reported_at_start() {
    let env = OpsdeckEnv::new();
    let data = env.root().join("data/opsdeck");
    std::fs::create_dir_all(&data).expect("data dir");
    let garbage = r#"[{"title":"probe","links":"renamed fields"}]"#;
    {
        let store = Store::open(&data, 1 << 20).expect("store");
        store.ui_put("tools.chains", garbage.as_bytes()).expect("write");
        store.flush().expect("flush");
    }
    let mut app = env.pty(&[], 120, 40);
    expect_ok(app.wait_for("the problem is said at start", TIMEOUT, |s| {
        s.contains("Problems at start") && s.contains("saved tools.chains cannot be read") && s.contains("kept as")
    }));
    expect_ok(app.send_key(Key::Esc));
    expect_ok(app.wait_for("the message closed", TIMEOUT, |s| !s.contains("Problems at start")));
    quit_cleanly(&mut app);
    let store = Store::open(&data, 1 << 20).expect("store after the run");
    let kept: Vec<_> =
        store.ui_keys().expect("keys").into_iter().filter(|k| k.starts_with("tools.chains.unreadable.")).collect();
    assert_eq!(kept.len(), 1, "kept aside once");
    assert_eq!(store.ui_get(&kept[0]).expect("read").as_deref(), Some(garbage.as_bytes()), "as it was");
}
