//! Crash recovery of the workflow engine (issue 12, Tests): `opsdeck serve`
//! on a temp data dir runs many workflows of shell steps and is SIGKILLed at
//! pseudo-random points, over and over. Afterwards no acknowledged run is
//! lost or unreadable, every run is either succeeded or `interrupted`, and
//! `opsdeck runs resume` finishes each interrupted one without running a
//! completed step twice: every step appends `RUN STEP` to an effects file,
//! and a step may appear twice only if it was in flight at a kill (its
//! record says `interrupted: true`).
//!
//! The seed of the kill points is printed; set `OPSDECK_CRASH_SEED` to
//! replay one.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Child;
use std::time::{Duration, Instant};

use opsdeck::protocol::workflow::{RunId, RunState};

mod wf;

use wf::{Home, LIMIT, text, wait_for};

/// Serve processes killed.
const ROUNDS: usize = 22;
/// `opsdeck run` started per serve process.
const RUNS_PER_ROUND: usize = 10;
/// The kill comes 0..KILL_WINDOW_MS after the runs were acknowledged (they take ~250 ms).
const KILL_WINDOW_MS: u64 = 400;
const STEPS: [&str; 3] = ["s1", "s2", "s3"];

/// xorshift64*: enough to spread kill points, and replayable from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn seed() -> u64 {
    match std::env::var("OPSDECK_CRASH_SEED") {
        Ok(s) => s.trim().parse().expect("OPSDECK_CRASH_SEED is a number"),
        Err(_) => {
            let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock");
            (t.as_nanos() as u64) | 1
        }
    }
}

/// Three chained shell steps; each appends `RUN STEP` to `effects`.
fn crash_workflow(effects: &str) -> String {
    let mut w = String::from("name = \"crash\"\ndescription = \"three chained side effects\"\n");
    let mut prev: Option<&str> = None;
    for s in STEPS {
        w.push_str(&format!(
            "\n[[step]]\nid = \"{s}\"\nuses = \"shell\"\nwith = {{ command = 'echo \"{{{{ run.id }}}} {s}\" >> {effects}; sleep 0.05' }}\n"
        ));
        if let Some(p) = prev {
            w.push_str(&format!("needs = [\"{p}\"]\n"));
        }
        prev = Some(s);
    }
    w
}

/// The run numbers `opsdeck run` acknowledged (printed on stdout, exit 0).
fn acknowledged(children: Vec<Child>) -> Vec<RunId> {
    children
        .into_iter()
        .filter_map(|c| {
            let out = wf::wait_output(c, LIMIT, "opsdeck run crash");
            if !out.status.success() {
                eprintln!("opsdeck run crash: {:?} {}", out.status, text(&out.stderr));
                return None;
            }
            text(&out.stdout).trim().parse::<RunId>().ok()
        })
        .collect()
}

#[test]

fn runs_survive_repeated_sigkills_and_resume_without_repeating_a_finished_step() {
    let began = Instant::now();
    let seed = seed();
    eprintln!("crash test seed: {seed} (replay with OPSDECK_CRASH_SEED={seed})");
    let mut rng = Rng(seed);
    let home = Home::new();
    let effects = home.path().join("effects.txt");
    let effects_s = effects.display().to_string();
    assert!(!effects_s.contains(['\'', '"', ' ']), "a path the shell command can hold as is: {effects_s}");
    home.workflow("crash", &crash_workflow(&effects_s));

    let mut acked: BTreeSet<RunId> = BTreeSet::new();
    for round in 0..ROUNDS {
        eprintln!("round {round}");
        let server = home.serve();
        // Ready when a headless command is answered through its control socket.
        let listed = home.runs();
        assert!(
            acked.iter().all(|id| listed.iter().any(|r| r.id == *id)),
            "round {round}: an acknowledged run is gone"
        );
        let children: Vec<Child> =
            (0..RUNS_PER_ROUND).map(|_| home.cmd(&["run", "crash"]).spawn().expect("spawn opsdeck run")).collect();
        let got = acknowledged(children);
        assert_eq!(got.len(), RUNS_PER_ROUND, "round {round}: serve acknowledges every start");
        acked.extend(got);
        // The kill point: the one wait here that is not on a fact (it is the random part).
        std::thread::sleep(Duration::from_millis(rng.next() % KILL_WINDOW_MS));
        drop(server); // SIGKILL, then reaped
    }
    assert!(acked.len() >= 200, "at least 200 acknowledged runs over {ROUNDS} kills, got {}", acked.len());
    // Shell steps of a killed serve are orphans that may still append; wait until none is left.
    wait_for("the killed servers' shell steps to end", || {
        wf::processes_mentioning(&effects_s).is_empty().then_some(())
    });

    // No holder now: this start marks what was in flight interrupted.
    let runs = home.runs();
    let ids: BTreeSet<RunId> = runs.iter().map(|r| r.id).collect();
    let lost: Vec<&RunId> = acked.iter().filter(|id| !ids.contains(id)).collect();
    assert!(lost.is_empty(), "acknowledged runs lost: {lost:?}");
    let max = ids.iter().max().copied().unwrap_or(0);
    assert_eq!(ids.len() as u64, max, "runs 1..={max} all listed (none unreadable, none missing)");
    let mut in_flight: BTreeSet<(RunId, String)> = BTreeSet::new();
    let mut interrupted = Vec::new();
    for r in &runs {
        assert_eq!(r.workflow, "crash");
        match r.state {
            RunState::Succeeded => {}
            RunState::Interrupted => interrupted.push(r.id),
            other => panic!("run #{} is {} after the kills: only succeeded or interrupted", r.id, other.word()),
        }
    }
    eprintln!("{} runs, {} interrupted", runs.len(), interrupted.len());
    assert!(!interrupted.is_empty(), "some runs were in flight at a kill");
    for &id in &interrupted {
        let d = home.show(id);
        assert_eq!(d.run.state, RunState::Interrupted, "run #{id}");
        assert_eq!(d.steps.len(), STEPS.len(), "run #{id} has its steps");
        for s in &d.steps {
            assert!(
                matches!(s.state, RunState::Succeeded | RunState::Interrupted | RunState::Queued),
                "run #{id} step {} is {}",
                s.id,
                s.state.word()
            );
            if s.interrupted {
                in_flight.insert((id, s.id.clone()));
            }
        }
        let n = id.to_string();
        let out = home.out(&["runs", "resume", &n]);
        assert!(out.status.success(), "resume #{id}: {:?}\n{}", out.status, text(&out.stderr));
    }

    let after = home.runs();
    assert_eq!(after.len(), runs.len(), "resume makes no new run");
    for r in &after {
        assert_eq!(r.state, RunState::Succeeded, "run #{} after resume: {:?}", r.id, r.error);
    }
    let mut count: BTreeMap<(RunId, String), usize> = BTreeMap::new();
    let log = std::fs::read_to_string(&effects).expect("effects file");
    for line in log.lines() {
        let (id, step) = line.split_once(' ').unwrap_or_else(|| panic!("effects line {line:?}"));
        let id: RunId = id.parse().unwrap_or_else(|_| panic!("effects line {line:?}"));
        assert!(ids.contains(&id), "a side effect of run #{id}, which no record has");
        *count.entry((id, step.to_string())).or_default() += 1;
    }
    for id in &ids {
        for s in STEPS {
            let key = (*id, s.to_string());
            let n = count.get(&key).copied().unwrap_or(0);
            assert!(n >= 1, "run #{id} step {s} never ran");
            assert!(
                n == 1 || in_flight.contains(&key),
                "run #{id} step {s} ran {n} times but was not in flight at a kill (resume repeated a finished step)"
            );
            assert!(n <= 2, "run #{id} step {s} ran {n} times: at most once more after its one interruption");
        }
    }
    eprintln!("crash test: {} runs, {} resumed, {:?}", ids.len(), interrupted.len(), began.elapsed());
}
