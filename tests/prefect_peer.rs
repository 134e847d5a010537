//! A smoke test of the Prefect peer itself (tests/peers/prefect.rs, installed
//! by .ci/test into `$OPSDECK_PREFECT_DIR`), not of opsdeck code: the flow
//! scripts' runs land in the server with the states the Prefect tests rely
//! on, a served deployment runs a created flow run, the runner leaves no
//! process behind, and the runs survive a server restart.

mod peers;

use peers::prefect::PrefectServer;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A failure bound for a created deployment run to complete (about 3 s).
const RUN_LIMIT: Duration = Duration::from_secs(60);
/// A failure bound for a killed runner's processes to be gone.
const GONE_LIMIT: Duration = Duration::from_secs(10);

/// An HTTP client without idle connections: the peer's calls block this
/// test's runtime, so a pooled connection would not notice the server's
/// restart and the first request after it would fail.
fn client() -> reqwest::Client {
    let tls = opsdeck::net::tls_client_config(None).expect("TLS config");
    reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

async fn post(http: &reqwest::Client, url: String, body: Value) -> Value {
    let resp = http.post(&url).json(&body).send().await.unwrap_or_else(|e| panic!("POST {url}: {e:?}"));
    let status = resp.status();
    let text = resp.text().await.expect("body");
    assert!(status.is_success(), "POST {url} {body}: {status} {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("POST {url}: {e}: {text}"))
}

async fn get(http: &reqwest::Client, url: String) -> Value {
    let resp = http.get(&url).send().await.unwrap_or_else(|e| panic!("GET {url}: {e:?}"));
    assert!(resp.status().is_success(), "GET {url}: {}", resp.status());
    resp.json().await.expect("JSON")
}

/// Every flow run as (flow name, state type, parameters, id), sorted.
async fn runs(http: &reqwest::Client, api: &str) -> Vec<(String, String, Value, String)> {
    let flows = post(http, format!("{api}/flows/filter"), json!({})).await;
    let name_of = |flow_id: &Value| {
        flows.as_array().expect("flows").iter().find(|f| &f["id"] == flow_id).expect("the run's flow")["name"]
            .as_str()
            .expect("name")
            .to_string()
    };
    let runs = post(http, format!("{api}/flow_runs/filter"), json!({"sort": "EXPECTED_START_TIME_ASC"})).await;
    let mut out: Vec<_> = runs
        .as_array()
        .expect("flow runs")
        .iter()
        .map(|r| {
            let state = r["state_type"].as_str().expect("state_type").to_string();
            (name_of(&r["flow_id"]), state, r["parameters"].clone(), r["id"].as_str().expect("id").to_string())
        })
        .collect();
    out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    out
}

#[tokio::test]
async fn flows_run_a_served_deployment_runs_and_runs_survive_a_restart() {
    let t0 = Instant::now();
    let mut prefect = PrefectServer::start();
    let started = t0.elapsed();
    let api = prefect.api_url();
    let http = client();

    let mut long = prefect.spawn_flow("long_flow.py", &["2"]);
    let ok = prefect.run_flow("ok_flow.py", &[]);
    let ok_out = format!("{}{}", String::from_utf8_lossy(&ok.stdout), String::from_utf8_lossy(&ok.stderr));
    assert!(ok.status.success(), "{ok_out}");
    assert!(ok_out.contains("transform: naïve ✓ 日本"), "{ok_out}");
    let fail = prefect.run_flow("fail_flow.py", &[]);
    assert!(!fail.status.success(), "fail_flow.py exited 0");
    assert!(String::from_utf8_lossy(&fail.stderr).contains("kaboom: intentional failure 42"));
    let status = long.wait(Duration::from_secs(60)).expect("long_flow.py 2 within a minute");
    assert!(status.success(), "{}", long.log());
    assert!(long.log().contains("tick 2"), "{}", long.log());
    let scripts = t0.elapsed();

    let before = runs(&http, &api).await;
    let shape: Vec<_> = before.iter().map(|(f, s, p, _)| (f.as_str(), s.as_str(), p.clone())).collect();
    assert_eq!(
        shape,
        [
            ("fail-flow", "FAILED", json!({})),
            ("long-flow", "COMPLETED", json!({"seconds": 2})),
            ("ok-flow", "COMPLETED", json!({"n": 3}))
        ],
        "{before:?}"
    );
    // The task logs reach the server, non-ASCII intact.
    let ok_id = &before[2].3;
    let logs = post(&http, format!("{api}/logs/filter"), json!({"logs": {"flow_run_id": {"any_": [ok_id]}}})).await;
    let messages: Vec<&str> = logs.as_array().expect("logs").iter().filter_map(|l| l["message"].as_str()).collect();
    for line in ["extract: 3 rows", "transform: naïve ✓ 日本", "load: 3 rows loaded"] {
        assert!(messages.contains(&line), "{line:?} not in {messages:?}");
    }

    let runner = prefect.serve("serve_flows.py");
    let served = t0.elapsed();
    let deployments =
        post(&http, format!("{api}/deployments/filter"), json!({"deployments": {"name": {"any_": ["ok-deploy"]}}}))
            .await;
    let deployment = deployments[0]["id"].as_str().expect("ok-deploy is registered").to_string();
    let created = Instant::now();
    let run =
        post(&http, format!("{api}/deployments/{deployment}/create_flow_run"), json!({"parameters": {"n": 4}})).await;
    let run_id = run["id"].as_str().expect("flow run id").to_string();
    let run = loop {
        let run = get(&http, format!("{api}/flow_runs/{run_id}")).await;
        match run["state_type"].as_str() {
            Some("COMPLETED") => break run,
            Some("FAILED" | "CRASHED" | "CANCELLED") => panic!("{run}\n{}", runner.log()),
            _ => {}
        }
        assert!(created.elapsed() < RUN_LIMIT, "not completed within {RUN_LIMIT:?}: {run}\n{}", runner.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let deployment_run = created.elapsed();
    assert_eq!(run["parameters"], json!({"n": 4}));
    assert_eq!(run["deployment_id"].as_str(), Some(deployment.as_str()));

    // The runner's group (the runner, the runs it started) is gone with its guard.
    let group = rustix::process::Pid::from_raw(runner.pid() as i32).expect("pid");
    drop(runner);
    let dropped = Instant::now();
    while rustix::process::test_kill_process_group(group).is_ok() {
        assert!(dropped.elapsed() < GONE_LIMIT, "the runner's process group is still there");
        std::thread::sleep(Duration::from_millis(50));
    }

    let restart = Instant::now();
    prefect.stop();
    assert!(!prefect.healthy());
    prefect.start_again();
    let restart = restart.elapsed();
    assert!(prefect.healthy());
    let after = runs(&http, &api).await;
    let shape: Vec<_> = after.iter().map(|(f, s, p, _)| (f.as_str(), s.as_str(), p.clone())).collect();
    assert_eq!(
        shape,
        [
            ("fail-flow", "FAILED", json!({})),
            ("long-flow", "COMPLETED", json!({"seconds": 2})),
            ("ok-flow", "COMPLETED", json!({"n": 3})),
            ("ok-flow", "COMPLETED", json!({"n": 4}))
        ],
        "{after:?}"
    );
    eprintln!(
        "timings: start {started:?}, three scripts {:?}, serve {:?}, deployment run {deployment_run:?}, restart {restart:?}, total {:?}",
        scripts - started,
        served - scripts,
        t0.elapsed()
    );
}
