//! MCP answers the SDK's strict types refuse, read without trusting the
//! server: `tools/list` at most [`MAX_TOOLS`] tools, `null` where a schema or
//! list was expected reads as empty (Pydantic-based servers send
//! `"inputSchema": null` for tools without arguments), and one unreadable tool
//! or content block is skipped and counted instead of failing the whole
//! answer.

use rmcp::model::{
    CallToolResult, ClientRequest, ContentBlock, CustomResult, ListToolsRequest, PaginatedRequestParams, ServerResult,
    Tool,
};
use rmcp::{Peer, RoleClient};
use serde_json::{Value, json};

use crate::decode;

/// Tools taken from one server, at most.
pub(super) const MAX_TOOLS: usize = 1_000;
/// Content blocks read from one result, at most.
const MAX_BLOCKS: usize = 10_000;

/// One page of `tools/list`.
#[derive(Debug, Default)]
pub(super) struct Page {
    pub tools: Vec<Tool>,
    pub next_cursor: Option<String>,
    /// Tools that could not be read, and why the first could not.
    pub skipped: usize,
    pub first_error: Option<String>,
}

/// Ask for one page; an answer the SDK cannot read is read tool by tool.
pub(super) async fn page(peer: &Peer<RoleClient>, cursor: Option<String>) -> Result<Page, String> {
    let params = PaginatedRequestParams::default().with_cursor(cursor);
    let request = ClientRequest::ListToolsRequest(ListToolsRequest::with_param(params));
    match peer.send_request(request).await.map_err(|e| e.to_string())? {
        ServerResult::ListToolsResult(r) => {
            Ok(Page { tools: r.tools, next_cursor: r.next_cursor, skipped: 0, first_error: None })
        }
        ServerResult::CustomResult(CustomResult(v)) => lenient(v),
        ServerResult::EmptyResult(_) => Ok(Page::default()),
        _ => Err("answered tools/list with something else".into()),
    }
}

/// Read a `tools/list` result tool by tool.
pub(super) fn lenient(v: Value) -> Result<Page, String> {
    let Value::Object(mut m) = v else { return Err(format!("tools/list answered {}", decode::kind(&v))) };
    let next_cursor = m.get("nextCursor").and_then(Value::as_str).map(str::to_string);
    let list = m.remove("tools").unwrap_or(Value::Null);
    let items: decode::Items<Value> = decode::items(list, MAX_TOOLS, "tools")?;
    let mut page = Page { next_cursor, skipped: items.skipped, first_error: items.first_error, ..Page::default() };
    for (i, mut t) in items.items.into_iter().enumerate() {
        if let Value::Object(o) = &mut t {
            // A tool without arguments: an empty object schema.
            if o.get("inputSchema").is_none_or(Value::is_null) {
                o.insert("inputSchema".into(), json!({"type": "object"}));
            }
            // Optional fields sent as null read as absent.
            o.retain(|_, v| !v.is_null());
        }
        match serde_json::from_value::<Tool>(t) {
            Ok(tool) => page.tools.push(tool),
            Err(e) => {
                page.skipped += 1;
                page.first_error.get_or_insert_with(|| format!("tool {}: {}", i + 1, decode::cut(&e.to_string(), 200)));
            }
        }
    }
    Ok(page)
}

/// Read a `tools/call` result block by block; returns it and how many
/// content blocks could not be read (or were past [`MAX_BLOCKS`]).
pub(super) fn call_result(v: Value) -> Result<(CallToolResult, usize), String> {
    let Value::Object(mut m) = v else { return Err(format!("tools/call answered {}", decode::kind(&v))) };
    if !["content", "structuredContent", "isError"].iter().any(|k| m.contains_key(*k)) {
        return Err("answered tools/call with something else".into());
    }
    let blocks: decode::Items<ContentBlock> =
        decode::items(m.remove("content").unwrap_or(Value::Null), MAX_BLOCKS, "content")?;
    let mut r = CallToolResult::success(blocks.items);
    r.is_error = m.get("isError").and_then(Value::as_bool);
    r.structured_content = m.remove("structuredContent").filter(|v| !v.is_null());
    Ok((r, blocks.skipped + blocks.dropped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_list_with_nulls_and_one_bad_tool_keeps_the_others() {
        let v = json!({"tools": [
            {"name": "ping", "description": null, "inputSchema": null, "annotations": null},
            {"name": 42, "inputSchema": {"type": "object"}},
            {"name": "query", "inputSchema": {"type": "object", "properties": {"q": {"type": "string"}}}}
        ], "nextCursor": null});
        let p = lenient(v).unwrap();
        let names: Vec<&str> = p.tools.iter().map(|t| t.name.as_ref()).collect();
        assert_eq!(names, ["ping", "query"]);
        assert_eq!(p.tools[0].input_schema.get("type"), Some(&json!("object")));
        assert_eq!((p.skipped, p.next_cursor), (1, None));
        assert!(p.first_error.is_some_and(|e| e.starts_with("tool 2:")));
        assert_eq!(lenient(json!({"tools": null})).unwrap().tools.len(), 0);
        assert!(lenient(json!([])).is_err());
    }

    #[test]
    fn a_result_with_one_unreadable_block_keeps_the_others() {
        let v = json!({"content": [{"type": "text", "text": "a"}, {"type": "hologram"}, null,
            {"type": "text", "text": "b"}], "isError": null, "structuredContent": null});
        let r: ServerResult = serde_json::from_value(v.clone()).unwrap();
        assert!(matches!(r, ServerResult::CustomResult(_)), "the SDK refuses it whole: {r:?}");
        let (r, skipped) = call_result(v).unwrap();
        let texts: Vec<&str> = r.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.as_str()).collect();
        assert_eq!((texts, skipped, r.is_error, r.structured_content), (vec!["a", "b"], 2, None, None));
        assert!(call_result(json!({"tools": []})).is_err(), "not a call result");
    }

    /// The SDK's strict types refuse such a page; it arrives as a custom
    /// result, which [`page`] reads with [`lenient`].
    #[test]
    fn the_sdk_hands_an_unreadable_page_over_as_a_custom_result() {
        let v = json!({"tools": [{"name": "ping", "inputSchema": null}]});
        let r: ServerResult = serde_json::from_value(v).unwrap();
        assert!(matches!(r, ServerResult::CustomResult(_)), "{r:?}");
    }
}
