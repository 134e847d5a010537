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

/// A queued command this build cannot read (written by a newer opsdeck) is
/// set aside and said at start; the queue goes on with the others.
#[test]
fn an_unreadable_queued_command_is_set_aside_and_reported_at_start() {
    let env = OpsdeckEnv::new();
    let data = env.root().join("data/opsdeck");
    std::fs::create_dir_all(&data).expect("data dir");
    {
        // Written as an earlier build (a bare `[id, command]` pair) and a
        // newer one would, straight into the outbox tree of a new store.
        let db = sled::Config::new().path(data.join("db")).open().expect("sled");
        let tree = db.open_tree("outbox").expect("tree");
        let earlier = br#"["cmd-ok",{"type":"unack","alert":"disk"}]"#;
        tree.insert(b"edge\0\x00\x00\x00\x00\x00\x00\x00\x01", &earlier[..]).expect("insert");
        let newer = br#"{"version":9,"id":"cmd-new","command":{"type":"reboot_fleet"}}"#;
        tree.insert(b"edge\0\xff\xff\xff\xff\xff\xff\xff\xff", &newer[..]).expect("insert");
        db.flush().expect("flush");
    }
    // Port 9 (discard) refuses: the command stays queued.
    let mut app = env.pty(&["--backend", "edge=ws://127.0.0.1:9"], 120, 40);
    expect_ok(app.wait_for("the set-aside command is said at start", TIMEOUT, |s| {
        s.contains("Problems at start") && s.contains("a command queued for edge: version 9")
    }));
    expect_ok(app.send_key(Key::Esc));
    expect_ok(app.wait_for("the message closed", TIMEOUT, |s| !s.contains("Problems at start")));
    quit_cleanly(&mut app);
    let store = Store::open(&data, 1 << 20).expect("store after the run");
    let queued = store.outbox_list("edge").expect("outbox");
    assert_eq!(queued.iter().map(|q| q.0.as_str()).collect::<Vec<_>>(), ["cmd-ok"], "the readable one stays queued");
    assert!(store.unreadable_report().expect("report").is_empty(), "said once, at that start");
}
