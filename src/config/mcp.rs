//! `[[mcp_server]]`: MCP servers whose tools join the tool registry, either a
//! child process on stdio or a streamable HTTP endpoint.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// Longest a tool call may take unless `timeout` says otherwise.
pub const DEFAULT_MCP_TIMEOUT: Duration = Duration::from_secs(60);

/// How to reach an MCP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum McpTransport {
    /// A child process speaking newline-delimited JSON-RPC on stdin/stdout.
    /// It inherits opsdeck's environment minus `OPSDECK_SECRET_*` and
    /// `OPSDECK_TOKEN`, plus `env`.
    Stdio { command: String, args: Vec<String>, env: BTreeMap<String, String>, cwd: Option<PathBuf> },
    /// Streamable HTTP at `url`; the secret named `token_secret`, if any, is sent
    /// as `Authorization: Bearer …`.
    Http { url: String, token_secret: Option<String> },
}

/// One `[[mcp_server]]` table, validated.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawMcpServer")]
pub struct McpServerConfig {
    /// Unique; its tools are named `NAME/TOOL` and their source is `NAME`.
    pub name: String,
    pub transport: McpTransport,
    /// Longest one tool call may take.
    pub timeout: Duration,
    /// Whether its tools change things (need confirmation, refused with
    /// `--read-only`). A tool that declares `readOnlyHint: true` does not.
    pub mutating: bool,
}

impl McpServerConfig {
    /// A stdio server with the defaults (60 s timeout, mutating).
    pub fn stdio(name: impl Into<String>, command: impl Into<String>, args: &[&str]) -> Self {
        McpServerConfig {
            name: name.into(),
            transport: McpTransport::Stdio {
                command: command.into(),
                args: args.iter().map(|a| a.to_string()).collect(),
                env: BTreeMap::new(),
                cwd: None,
            },
            timeout: DEFAULT_MCP_TIMEOUT,
            mutating: true,
        }
    }

    /// A streamable HTTP server with the defaults (no token, 60 s timeout, mutating).
    pub fn http(name: impl Into<String>, url: impl Into<String>) -> Self {
        McpServerConfig {
            name: name.into(),
            transport: McpTransport::Http { url: url.into(), token_secret: None },
            timeout: DEFAULT_MCP_TIMEOUT,
            mutating: true,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMcpServer {
    name: String,
    command: Option<String>,
    args: Option<Vec<String>>,
    env: Option<BTreeMap<String, String>>,
    cwd: Option<PathBuf>,
    url: Option<String>,
    token_secret: Option<String>,
    #[serde(default = "default_timeout", deserialize_with = "super::settings::de_duration")]
    timeout: Duration,
    #[serde(default = "default_mutating")]
    mutating: bool,
}

fn default_timeout() -> Duration {
    DEFAULT_MCP_TIMEOUT
}

fn default_mutating() -> bool {
    true
}

/// Why a server name is not usable, if it is not.
pub fn check_server_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("mcp_server name is empty".into());
    }
    if name.contains('/') {
        return Err(format!("mcp_server name {name:?} contains '/' (its tools are named NAME/TOOL)"));
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("mcp_server name {name:?} contains spaces or control characters"));
    }
    if name == "builtin" {
        return Err("mcp_server name \"builtin\" is reserved for opsdeck's own tools".into());
    }
    Ok(())
}

impl TryFrom<RawMcpServer> for McpServerConfig {
    type Error = String;

    fn try_from(raw: RawMcpServer) -> Result<Self, String> {
        check_server_name(&raw.name)?;
        let name = raw.name;
        let transport = match (raw.command, raw.url) {
            (Some(_), Some(_)) => {
                return Err(format!("mcp_server {name}: give either command (stdio) or url (HTTP), not both"));
            }
            (None, None) => {
                return Err(format!("mcp_server {name}: needs command (a stdio server) or url (streamable HTTP)"));
            }
            (Some(command), None) => {
                if command.trim().is_empty() {
                    return Err(format!("mcp_server {name}: command is empty"));
                }
                if raw.token_secret.is_some() {
                    return Err(format!("mcp_server {name}: token_secret is for url servers, not command ones"));
                }
                McpTransport::Stdio {
                    command,
                    args: raw.args.unwrap_or_default(),
                    env: raw.env.unwrap_or_default(),
                    cwd: raw.cwd,
                }
            }
            (None, Some(url)) => {
                if raw.args.is_some() || raw.env.is_some() || raw.cwd.is_some() {
                    return Err(format!("mcp_server {name}: args, env and cwd are for command servers, not url ones"));
                }
                match url::Url::parse(&url) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                    Ok(u) => {
                        return Err(format!(
                            "mcp_server {name}: url {url:?} must be http:// or https:// (got {}:)",
                            u.scheme()
                        ));
                    }
                    Err(e) => return Err(format!("mcp_server {name}: url {url:?} is not a URL: {e}")),
                }
                if let Some(s) = &raw.token_secret {
                    crate::secrets::check_name(s).map_err(|e| format!("mcp_server {name}: token_secret: {e}"))?;
                }
                McpTransport::Http { url, token_secret: raw.token_secret }
            }
        };
        Ok(McpServerConfig { name, transport, timeout: raw.timeout, mutating: raw.mutating })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::settings::parse_config;

    #[test]
    fn stdio_and_http_servers_parse_with_defaults() {
        let c = parse_config(
            "c.toml",
            "[[mcp_server]]\nname = \"fs\"\ncommand = \"node\"\nargs = [\"a.js\", \"/srv\"]\nenv = { A = \"1\" }\n\n\
             [[mcp_server]]\nname = \"remote\"\nurl = \"https://mcp.example/mcp\"\ntoken_secret = \"mcp:remote\"\ntimeout = \"5s\"\nmutating = false\n",
        )
        .unwrap();
        let mut fs = McpServerConfig::stdio("fs", "node", &["a.js", "/srv"]);
        if let McpTransport::Stdio { env, .. } = &mut fs.transport {
            env.insert("A".into(), "1".into());
        }
        assert_eq!(c.mcp_servers[0], fs);
        assert_eq!(
            c.mcp_servers[1],
            McpServerConfig {
                transport: McpTransport::Http {
                    url: "https://mcp.example/mcp".into(),
                    token_secret: Some("mcp:remote".into())
                },
                timeout: Duration::from_secs(5),
                mutating: false,
                ..McpServerConfig::http("remote", "")
            }
        );
    }

    fn err(src: &str) -> crate::config::ConfigError {
        parse_config("c.toml", src).unwrap_err()
    }

    #[test]
    fn invalid_servers_are_located() {
        let e = err("[[mcp_server]]\nname = \"a/b\"\ncommand = \"x\"\n");
        assert!(e.message.contains("contains '/'"), "{e}");
        assert!(e.line > 0 && !e.hint.is_empty(), "{e}");
        let e = err("[[mcp_server]]\nname = \"a\"\ncommand = \"x\"\nurl = \"http://h/mcp\"\n");
        assert!(e.message.contains("not both"), "{e}");
        let e = err("[[mcp_server]]\nname = \"a\"\n");
        assert!(e.message.contains("needs command"), "{e}");
        let e = err("[[mcp_server]]\nname = \"a\"\nurl = \"ftp://h/\"\n");
        assert!(e.message.contains("http://"), "{e}");
        let e = err("[[mcp_server]]\nname = \"a\"\nurl = \"http://h/\"\nargs = [\"x\"]\n");
        assert!(e.message.contains("for command servers"), "{e}");
        let e = err("[[mcp_server]]\nname = \"\"\ncommand = \"x\"\n");
        assert!(e.message.contains("empty"), "{e}");
        let e = err("[[mcp_server]]\nname = \"a\"\ncommand = \"x\"\ntimeout = \"soon\"\n");
        assert!(e.message.contains("invalid duration"), "{e}");
        let e =
            err("[[mcp_server]]\nname = \"a\"\ncommand = \"x\"\n\n[[mcp_server]]\nname = \"a\"\nurl = \"http://h/\"\n");
        assert_eq!((e.line, e.col), (6, 8), "{e}");
        assert!(e.message.contains("used twice"), "{e}");
    }
}
