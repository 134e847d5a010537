//! `save_chain_workflow`: the selected saved chain as a workflow file (one
//! step per link, a jq link as a `data_query` step and a template, see
//! [`crate::engine::workflows::from_chain`]). The text is made here; the
//! runtime writes it into the workflows folder, never over a file.

use super::list::Target;
use super::{Out, ToolsState};
use crate::app::Effect;
use crate::app::read_only::read_only_refusal;
use crate::engine::workflows::from_chain::{workflow_name, workflow_toml};

impl ToolsState {
    /// Ask the runtime to write the selected chain as a new workflow file.
    pub fn save_chain_workflow(&mut self, out: &mut Out) -> bool {
        if out.read_only {
            out.notice = Some(read_only_refusal("writing a workflow file"));
            return true;
        }
        let Some(chain) = self.selected().and_then(|t| match t {
            Target::Chain(i) => self.chains.get(i),
            Target::Tool(_) => None,
        }) else {
            out.notice =
                Some("select a saved chain in the tools list to save it as a workflow (S saves a chain)".into());
            return true;
        };
        let stem = workflow_name(&chain.name);
        out.effects.push(Effect::SaveWorkflow { stem: stem.clone(), contents: workflow_toml(chain) });
        out.notice = Some(format!("saving chain {} as workflow {stem}…", chain.name));
        true
    }
}
