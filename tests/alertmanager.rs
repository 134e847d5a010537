//! Alertmanager as an alerts source, against a real Prometheus evaluating an
//! always-firing rule and sending it to a real Alertmanager, both on loopback
//! (Debian packages `prometheus` and `prometheus-alertmanager`, installed by
//! .ci/run; see PEERS.md).

mod peers;

use peers::{Proc, free_port};

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use opsdeck::protocol::AlertsCommand as Cmd;
use opsdeck::protocol::alerts::{Alert, AlertState, AlertsUpdate, MatchOp, Matcher, Severity};
use opsdeck::remote::alertmanager::{self, AlertmanagerSpec};
use serde_json::Value;
use tokio::sync::mpsc;

/// A failure bound, not a synchronisation.
const LIMIT: Duration = Duration::from_secs(60);
const RULE: &str = "OpsdeckAlwaysFiring";

fn spawn(program: &str, args: &[String], log: &Path) -> Proc {
    let out = std::fs::File::create(log).expect("log file");
    let err = out.try_clone().expect("log file");
    let child =
        Command::new(program).args(args).stdin(Stdio::null()).stdout(out).stderr(err).spawn().unwrap_or_else(|e| {
            panic!("{program}: {e} (apt-get install prometheus prometheus-alertmanager; see .ci/run)")
        });
    Proc(child)
}

struct Peers {
    _am: Proc,
    _prom: Proc,
    dir: tempfile::TempDir,
    am_url: String,
}

impl Peers {
    fn start() -> Peers {
        let dir = tempfile::tempdir().expect("tempdir");
        let (ap, pp) = (free_port(), free_port());
        let p = |name: &str| dir.path().join(name);
        std::fs::write(p("am.yml"), "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n").expect("write");
        std::fs::write(
            p("rules.yml"),
            format!(
                "groups:\n  - name: opsdeck\n    interval: 1s\n    rules:\n      - alert: {RULE}\n        expr: vector(1) > 0\n        for: 0s\n        labels: {{ severity: critical, team: ops }}\n        annotations: {{ summary: \"always firing\" }}\n"
            ),
        )
        .expect("write");
        std::fs::write(
            p("prometheus.yml"),
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: ['{}']\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{ap}']\n",
                p("rules.yml").display()
            ),
        )
        .expect("write");
        let am = spawn(
            "prometheus-alertmanager",
            &[
                format!("--config.file={}", p("am.yml").display()),
                format!("--storage.path={}", p("am-data").display()),
                format!("--web.listen-address=127.0.0.1:{ap}"),
                "--cluster.listen-address=".into(),
            ],
            &p("alertmanager.log"),
        );
        let prom = spawn(
            "prometheus",
            &[
                format!("--config.file={}", p("prometheus.yml").display()),
                format!("--storage.tsdb.path={}", p("prom-data").display()),
                format!("--web.listen-address=127.0.0.1:{pp}"),
                "--rules.alert.resend-delay=1s".into(),
            ],
            &p("prometheus.log"),
        );
        Peers { _am: am, _prom: prom, am_url: format!("http://127.0.0.1:{ap}"), dir }
    }

    /// The tail of both logs, for a failure message.
    fn logs(&self) -> String {
        ["alertmanager.log", "prometheus.log"]
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(8).collect();
                format!("--- {f}\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

type Polls = mpsc::Receiver<(String, Result<alertmanager::Polled, String>)>;

/// Polls from `run` until one satisfies `want` (errors are skipped: Alertmanager may be starting).
async fn until(polls: &mut Polls, peers: &Peers, what: &str, want: impl Fn(&AlertsUpdate) -> bool) -> AlertsUpdate {
    let mut last = String::new();
    let found = tokio::time::timeout(LIMIT, async {
        loop {
            let (name, r) = polls.recv().await.expect("the poller runs");
            assert_eq!(name, "am");
            match r {
                Ok(p) if want(&p.update) => {
                    assert!(p.unreadable.is_empty(), "a real Alertmanager's answer reads whole: {:?}", p.unreadable);
                    return p.update;
                }
                Ok(p) => {
                    let u = p.update;
                    last =
                        format!("{:?}", u.alerts.iter().map(|a| (&a.rule, a.state, &a.silenced_by)).collect::<Vec<_>>())
                }
                Err(e) => last = e,
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("{what} within {LIMIT:?}; last poll: {last}\n{}", peers.logs()))
}

fn firing(u: &AlertsUpdate) -> Option<&Alert> {
    u.alerts.iter().find(|a| a.rule == RULE && a.state == AlertState::Firing)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_silences_and_acknowledgements_through_a_real_alertmanager() {
    let peers = Peers::start();
    let spec = AlertmanagerSpec { name: "am".into(), url: peers.am_url.clone(), interval: Duration::from_millis(500) };
    let (tx, mut polls) = mpsc::channel(16);
    tokio::spawn(alertmanager::run(spec.clone(), tx));

    // The always-firing rule's alert arrives, with a transition.
    let u = until(&mut polls, &peers, "the alert", |u| firing(u).is_some()).await;
    let a = firing(&u).expect("firing").clone();
    assert!(u.transitions.iter().any(|t| t.alert == a.id && t.to == AlertState::Firing), "{:?}", u.transitions);
    assert_eq!(
        (a.origin.as_str(), a.severity, a.summary.as_str()),
        ("alertmanager:am", Severity::Critical, "always firing")
    );
    assert_eq!(a.labels.get("team").map(String::as_str), Some("ops"));
    assert!(a.silenced_by.is_empty() && a.ack.is_none());
    let http = opsdeck::net::http_client().expect("client");
    let direct = alertmanager::poll(&http, &spec).await.expect("poll");
    assert!(direct.update.alerts.iter().any(|x| x.id == a.id), "poll sees it too");

    // A silence from opsdeck suppresses it in Alertmanager.
    // Written as in the silence dialog; the dialog's preview (same matching
    // as Alertmanager: whole-value regular expressions) counts this alert.
    let m = opsdeck::protocol::matchers::parse(&format!("alertname={RULE} team=~\"op.*|web\" env!~\"stag.*\""))
        .expect("matchers");
    assert_eq!(m[1], Matcher { name: "team".into(), op: MatchOp::Re, value: "op.*|web".into() });
    assert!(Matcher::all_match(&m, &a), "the preview counts it: {a:?}");
    let silence = Cmd::Silence { matchers: m, minutes: 10, comment: "maintenance".into(), by: "tester".into() };
    let r = alertmanager::command(&spec, silence).await.expect("silence");
    let id = r["silence"].as_str().expect("silence id").to_string();
    let u =
        until(&mut polls, &peers, "the alert silenced", |u| firing(u).is_some_and(|a| a.silenced_by == [id.clone()]))
            .await;
    let s = u.silences.iter().find(|s| s.id == id).expect("the silence is listed");
    assert_eq!(
        (s.comment.as_str(), s.created_by.as_str(), s.origin.as_str()),
        ("maintenance", "tester", "alertmanager:am")
    );
    assert_eq!(s.matchers[1].op, MatchOp::Re);
    assert!(s.ends - s.starts > 9 * 60_000, "about ten minutes: {s:?}");

    // Expiring it unsuppresses the alert.
    let r = alertmanager::command(&spec, Cmd::Unsilence { id: id.clone() }).await.expect("unsilence");
    assert_eq!(r, serde_json::json!({ "expired": id }));
    until(&mut polls, &peers, "the alert unsilenced", |u| {
        firing(u).is_some_and(|a| a.silenced_by.is_empty()) && u.silences.iter().all(|s| s.id != id)
    })
    .await;

    // Acknowledging silences its exact labels with the note; it shows as acknowledged.
    let ack = Cmd::Ack { alert: a.id.clone(), note: "looking at it".into(), by: "tester".into(), at: None };
    let r = alertmanager::command(&spec, ack).await.expect("ack");
    assert_eq!(r["acknowledged"].as_str(), Some(a.id.as_str()));
    let ack_id = r["silence"].as_str().expect("silence id").to_string();
    let u = until(&mut polls, &peers, "the alert acknowledged", |u| firing(u).is_some_and(|a| a.ack.is_some())).await;
    let acked = firing(&u).expect("firing");
    let k = acked.ack.as_ref().expect("ack");
    assert_eq!((k.by.as_str(), k.note.as_str()), ("tester", "looking at it"));
    assert!(acked.silenced_by.is_empty(), "the ack silence is the acknowledgement: {acked:?}");
    let s = u.silences.iter().find(|s| s.id == ack_id).expect("the ack silence is listed");
    assert_eq!(s.comment, "ack: looking at it");
    assert!(s.matchers.iter().any(|m| m.name == "alertname" && m.value == RULE));
    assert!(s.matchers.iter().any(|m| m.name == "team" && m.value == "ops" && m.op == MatchOp::Eq));
    assert!((s.ends - s.starts - 120 * 60_000).abs() < 60_000, "two hours: {s:?}");

    // Taking it back expires the ack silence.
    let r = alertmanager::command(&spec, Cmd::Unack { alert: a.id.clone() }).await.expect("unack");
    assert_eq!(r["expired"], serde_json::json!([ack_id]));
    until(&mut polls, &peers, "the acknowledgement gone", |u| firing(u).is_some_and(|a| a.ack.is_none())).await;

    // What Alertmanager cannot do is refused clearly.
    let err = |r: Result<Value, String>| r.expect_err("refused");
    let e = err(alertmanager::command(&spec, Cmd::SetRuleEnabled { name: RULE.into(), enabled: false }).await);
    assert!(e.contains("live in Prometheus"), "{e}");
    let e = err(alertmanager::command(
        &spec,
        Cmd::Ack { alert: "0000".into(), note: String::new(), by: String::new(), at: None },
    )
    .await);
    assert!(e.contains("no alert 0000"), "{e}");
    let e = err(alertmanager::command(&spec, Cmd::Unack { alert: a.id.clone() }).await);
    assert!(e.contains("not acknowledged"), "{e}");
    let e = err(alertmanager::command(&spec, Cmd::Unsilence { id: "../../x".into() }).await);
    assert!(e.contains("not an Alertmanager silence id"), "{e}");
    let empty = Cmd::Silence { matchers: vec![], minutes: 5, comment: String::new(), by: String::new() };
    assert!(err(alertmanager::command(&spec, empty).await).contains("at least one matcher"));
}

#[tokio::test]
async fn an_unreachable_alertmanager_is_an_error_not_the_end() {
    let spec = AlertmanagerSpec {
        name: "gone".into(),
        url: format!("http://127.0.0.1:{}", free_port()),
        interval: Duration::from_millis(100),
    };
    let (tx, mut polls) = mpsc::channel(4);
    tokio::spawn(alertmanager::run(spec, tx));
    for _ in 0..2 {
        let (name, r) = tokio::time::timeout(LIMIT, polls.recv()).await.expect("a poll").expect("the poller runs");
        let e = r.expect_err("nothing listens");
        assert_eq!(name, "gone");
        assert!(e.starts_with("alertmanager gone: GET /api/v2/silences: "), "{e}");
    }
}
