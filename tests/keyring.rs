//! `opsdeck key set|get|rm` through the real binary: the kernel keyutils store,
//! the Secret Service (gnome-keyring in a private D-Bus session), the 0600 file
//! fallback and the environment variable.

use std::io::Write;
use std::process::{Command, Output, Stdio};

#[path = "support/scripted_http.rs"]
mod scripted_http;

fn opsdeck(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>, home: &std::path::Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    cmd.args(args)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("OPSDECK_KEYRING")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn opsdeck");
    // The child may exit before reading (e.g. a refused name): a closed pipe is fine.
    if let (Some(mut i), Some(text)) = (child.stdin.take(), stdin)
        && let Err(e) = i.write_all(text.as_bytes())
    {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
    }
    child.wait_with_output().expect("wait")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[cfg(target_os = "linux")]
#[test]
fn keyutils_round_trip_across_processes() {
    let home = tempfile::tempdir().expect("tempdir");
    let name = format!("test-keyutils-{}", std::process::id());
    let env = [("OPSDECK_KEYRING", "keyutils")];
    let set = opsdeck(&["key", "set", &name], &env, Some("s3cret\n"), home.path());
    assert!(set.status.success(), "{}", text(&set));
    assert!(String::from_utf8_lossy(&set.stderr).contains("keyutils"), "{}", text(&set));
    let get = opsdeck(&["key", "get", &name], &env, None, home.path());
    assert_eq!(String::from_utf8_lossy(&get.stdout), "s3cret\n", "{}", text(&get));
    assert!(!home.path().join("config/opsdeck/secrets.toml").exists(), "nothing written to disk");
    let rm = opsdeck(&["key", "rm", &name], &env, None, home.path());
    assert!(rm.status.success(), "{}", text(&rm));
    let gone = opsdeck(&["key", "get", &name], &env, None, home.path());
    assert!(!gone.status.success());
    assert!(String::from_utf8_lossy(&gone.stderr).contains("no secret named"), "{}", text(&gone));
}

#[test]
fn file_fallback_warns_and_is_private() {
    let home = tempfile::tempdir().expect("tempdir");
    let env = [("OPSDECK_KEYRING", "file")];
    let set = opsdeck(&["key", "set", "backend:prod"], &env, Some("tok-123"), home.path());
    assert!(set.status.success(), "{}", text(&set));
    let err = String::from_utf8_lossy(&set.stderr);
    assert!(err.contains("warning: no OS keyring available"), "{err}");
    let path = home.path().join("config/opsdeck/secrets.toml");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).expect("file").permissions().mode() & 0o777, 0o600);
    }
    let get = opsdeck(&["key", "get", "backend:prod"], &env, None, home.path());
    assert_eq!(String::from_utf8_lossy(&get.stdout), "tok-123\n", "{}", text(&get));
}

#[test]
fn environment_variable_wins_and_bad_names_are_refused() {
    let home = tempfile::tempdir().expect("tempdir");
    let get = opsdeck(
        &["key", "get", "backend:prod"],
        &[("OPSDECK_SECRET_BACKEND_PROD", "from-env"), ("OPSDECK_KEYRING", "file")],
        None,
        home.path(),
    );
    assert_eq!(String::from_utf8_lossy(&get.stdout), "from-env\n", "{}", text(&get));
    let bad = opsdeck(&["key", "set", "has space"], &[], Some("x"), home.path());
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid secret name"), "{}", text(&bad));
}

/// Needs `dbus-run-session` and `gnome-keyring-daemon` (installed by .ci/run).
#[cfg(target_os = "linux")]
#[test]
fn secret_service_in_a_private_session() {
    let home = tempfile::tempdir().expect("tempdir");
    for tool in ["dbus-run-session", "gnome-keyring-daemon", "dbus-send"] {
        let found = Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().expect("sh");
        assert!(found.status.success(), "{tool} is missing: apt-get install gnome-keyring dbus-x11 (see .ci/run)");
    }
    let bin = env!("CARGO_BIN_EXE_opsdeck");
    // Unlock a fresh keyring, wait until it owns org.freedesktop.secrets, then use opsdeck.
    let script = format!(
        r#"set -e
export HOME="{home}" XDG_CONFIG_HOME="{home}/config" XDG_DATA_HOME="{home}/data" XDG_STATE_HOME="{home}/state"
unset OPSDECK_KEYRING
echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
for i in $(seq 1 100); do
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true' && break
  sleep 0.1
done
printf 'ss-secret' | "{bin}" key set openai
"{bin}" key get openai
"{bin}" key rm openai
"{bin}" key get openai && exit 9 || true
"#,
        home = home.path().display(),
        bin = bin
    );
    let out = Command::new("dbus-run-session").args(["--", "sh", "-c", &script]).output().expect("dbus-run-session");
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("stored openai in the OS keyring (secret-service)"), "{all}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ss-secret\n"), "{all}");
    assert!(all.contains("removed openai from the OS keyring (secret-service)"), "{all}");
}

/// Issue 13: a provider's key set with `opsdeck key set provider:NAME` in
/// the Secret Service (gnome-keyring, private D-Bus session) is sent to the
/// provider as its bearer token by `opsdeck chat`, and is written nowhere:
/// not in the config, the data directory (sled), a log nor the exports
/// (every file under the private home is read back and searched; the
/// headless command writes no log file, the store it does write).
/// Needs what `secret_service_in_a_private_session` needs.
#[cfg(target_os = "linux")]
#[test]
fn a_provider_key_from_the_keyring_is_sent_and_written_nowhere() {
    use scripted_http::{Reply, Server, Step, events};
    const KEY: &str = "sk-opsdeck-test-9f3c1e77d2";
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let _guard = rt.enter();
    let chunk = |content: &str, finish: &str| {
        format!(r#"{{"choices":[{{"index":0,"delta":{{"content":"{content}"}},"finish_reason":{finish}}}]}}"#)
    };
    let body = events(&[&chunk("The disk ", "null"), &chunk("is fine.", "\"stop\""), "[DONE]"]);
    let server = rt.block_on(Server::start(vec![Reply::sse(vec![Step::Bytes(body)])]));
    let home = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(home.path().join("config/opsdeck")).expect("config dir");
    std::fs::write(
        home.path().join("config/opsdeck/config.toml"),
        format!(
            "[[provider]]\nname = \"scripted\"\nkind = \"openai\"\nbase_url = \"{}\"\nmodels = [\"m\"]\n",
            server.base_url()
        ),
    )
    .expect("config");
    let script = format!(
        r#"set -e
export HOME="{home}" XDG_CONFIG_HOME="{home}/config" XDG_DATA_HOME="{home}/data" XDG_STATE_HOME="{home}/state"
export OPSDECK_LOG=trace
unset OPSDECK_KEYRING
echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
for i in $(seq 1 100); do
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true' && break
  sleep 0.1
done
printf '{key}' | "{bin}" key set provider:scripted
"{bin}" chat --provider scripted "is the disk full?"
"#,
        home = home.path().display(),
        key = KEY,
        bin = env!("CARGO_BIN_EXE_opsdeck"),
    );
    // The server answers on this runtime while the session runs on a blocking thread.
    let out = rt
        .block_on(tokio::task::spawn_blocking(move || {
            Command::new("dbus-run-session").args(["--", "sh", "-c", &script]).output().expect("dbus-run-session")
        }))
        .expect("the session");
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("stored provider:scripted in the OS keyring (secret-service)"), "{all}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("The disk is fine."), "{all}");
    assert!(!all.contains(KEY), "the key is never printed: {all}");
    let asked = server.requests();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].header("authorization"), Some(format!("Bearer {KEY}").as_str()), "the key is sent");
    // Every file opsdeck wrote: config, sled's files, logs, exports.
    let mut files = Vec::new();
    let mut dirs = vec![home.path().to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            // Regular files only: gnome-keyring's sockets live here too.
            if p.is_dir() {
                dirs.push(p)
            } else if p.is_file() {
                files.push(p)
            }
        }
    }
    // gnome-keyring's own store under $HOME/.local/share/keyrings is encrypted; it is skipped.
    let ours: Vec<_> = files.iter().filter(|p| !p.to_string_lossy().contains("/keyrings/")).collect();
    assert!(ours.iter().any(|p| p.starts_with(home.path().join("data"))), "the store was written: {ours:?}");
    for p in ours {
        let bytes = std::fs::read(p).expect("read");
        assert!(!bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()), "the key is in {}", p.display());
    }
}
