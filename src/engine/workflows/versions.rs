//! A workflow's versions: each distinct content of its file, kept in the
//! store with the time it was first read (`workflow_versions`). Listing,
//! showing one with its line diff (similar), and rolling the file back.

use serde_json::{Value, json};

use super::service::WorkflowService;

impl WorkflowService {
    /// `[{version, first_seen, current}]`, oldest first.
    pub fn versions(&self, workflow: &str) -> Result<Value, String> {
        let current = self.definition(workflow).map(|d| d.version.clone());
        let stored = self.store().workflow_versions(workflow).map_err(|e| e.to_string())?;
        if stored.is_empty() {
            return Err(format!("no stored versions of workflow {workflow:?}"));
        }
        Ok(Value::Array(
            stored
                .iter()
                .map(|v| json!({"version": v.version, "first_seen": v.first_seen, "current": Some(&v.version) == current.as_ref()}))
                .collect(),
        ))
    }

    /// `{version, first_seen, text, against, diff}`: the text of `version`
    /// and a unified diff from `against` (default: the current version) to it.
    pub fn version(&self, workflow: &str, version: &str, against: Option<&str>) -> Result<Value, String> {
        let get = |v: &str| {
            self.store().workflow_version(workflow, v).map_err(|e| e.to_string())?.ok_or_else(|| {
                format!("workflow {workflow} has no stored version {v} (opsdeck workflows versions {workflow})")
            })
        };
        let this = get(version)?;
        let base = match against {
            Some(a) => Some(get(a)?),
            None => match self.definition(workflow) {
                Some(d) => Some(get(&d.version)?),
                None => None,
            },
        };
        let diff = base.as_ref().map(|b| {
            similar::TextDiff::from_lines(&b.text, &this.text)
                .unified_diff()
                .context_radius(3)
                .header(&b.version, &this.version)
                .to_string()
        });
        Ok(json!({
            "version": this.version,
            "first_seen": this.first_seen,
            "text": this.text,
            "against": base.map(|b| b.version),
            "diff": diff,
        }))
    }

    /// Write stored `version` over the workflow's file (then read the folder
    /// again). Blocking file IO.
    pub fn rollback(&self, workflow: &str, version: &str) -> Result<Value, String> {
        let def = self.definition(workflow).ok_or_else(|| {
            format!("workflow {workflow:?} has no file now: copy the version's text into a new file instead")
        })?;
        if def.version == version {
            return Err(format!("workflow {workflow} is already at version {version}"));
        }
        let stored = self
            .store()
            .workflow_version(workflow, version)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("workflow {workflow} has no stored version {version}"))?;
        std::fs::write(&def.path, &stored.text)
            .map_err(|e| format!("{}: cannot write it: {}", def.path, crate::net::io_text(&e)))?;
        self.load();
        Ok(json!({"workflow": workflow, "version": version, "path": def.path}))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::clock::TokioClock;
    use crate::engine::store::Store;
    use crate::engine::workflows::service::WorkflowService;
    use crate::engine::{Engine, EngineConfig};

    struct NoExec;
    impl crate::engine::workflows::exec::StepExecutor for NoExec {
        fn start(
            &self,
            _: &crate::engine::workflows::definition::Uses,
            _: serde_json::Value,
            _: tokio::sync::mpsc::Sender<String>,
        ) -> crate::engine::workflows::exec::Attempt {
            Box::pin(async { Ok(serde_json::Value::Null) })
        }
        fn mutating(&self, _: &crate::engine::workflows::definition::Uses, _: &serde_json::Value) -> bool {
            false
        }
    }

    struct NoSecrets;
    impl crate::engine::workflows::render::Secrets for NoSecrets {
        fn get(&self, n: &str) -> Result<String, String> {
            Err(n.into())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn each_content_is_a_version_with_a_diff_and_a_rollback_writes_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("w.toml");
        let v1 = "name = \"w\"\n[[step]]\nid = \"a\"\nuses = \"ok\"\n";
        let v2 = "name = \"w\"\n[[step]]\nid = \"a\"\nuses = \"ok\"\ntimeout = \"5s\"\n";
        std::fs::write(&file, v1).unwrap();
        let engine =
            Engine::new(Store::temporary().unwrap(), EngineConfig::default(), Arc::new(TokioClock::at(1000))).unwrap();
        let svc = WorkflowService::new(engine, Some(dir.path().into()), Arc::new(NoExec), Arc::new(NoSecrets)).unwrap();
        svc.load();
        let first = svc.definition("w").unwrap().version.clone();
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        std::fs::write(&file, v2).unwrap();
        svc.load();
        svc.load(); // the same content again is no new version
        let second = svc.definition("w").unwrap().version.clone();
        let list = svc.versions("w").unwrap();
        assert_eq!(
            list,
            serde_json::json!([
                {"version": first, "first_seen": 1000, "current": false},
                {"version": second, "first_seen": 61_000, "current": true},
            ])
        );
        let shown = svc.version("w", &first, None).unwrap();
        assert_eq!(shown["text"], v1);
        let diff = shown["diff"].as_str().unwrap();
        assert!(diff.contains(&format!("--- {second}")) && diff.contains("-timeout = \"5s\""), "{diff}");
        assert!(svc.version("w", "nope", None).unwrap_err().contains("no stored version nope"));
        svc.rollback("w", &first).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), v1);
        assert_eq!(svc.definition("w").unwrap().version, first, "read again after the rollback");
        assert!(svc.rollback("w", &first).unwrap_err().contains("already at version"));
    }
}
