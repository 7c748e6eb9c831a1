//! The web quality tools of `tools/web/` (installed by `make web-deps`): the W3C Nu HTML
//! Checker, axe-core in headless Chromium, screenshots; a `veille serve` process; and the
//! minimal HTTP/1.1 client of `http` to look at exact headers.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::Workspace;
pub(crate) use super::http::{Response, request};

fn tools_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/web")
}

fn node_tool(script: &str, args: &[String]) -> serde_json::Value {
    let dir = tools_dir();
    assert!(
        dir.join("node_modules").is_dir(),
        "outils web absents : lancez `make web-deps` (ou `make test`, qui les installe)"
    );
    let out = Command::new("node")
        .arg(dir.join(script))
        .args(args)
        .output()
        .expect("node introuvable : installez le paquet Debian nodejs (make web-deps)");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{script} a échoué ({}) :\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} : sortie non JSON ({e}) :\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Runs the Nu HTML Checker once over `pages` and `emails` (where the obsolete table
/// attributes mail clients need are allowed); returns its report.
pub(crate) fn vnu(pages: &[PathBuf], emails: &[PathBuf]) -> serde_json::Value {
    let mut args = Vec::new();
    for e in emails {
        args.push("--email".to_string());
        args.push(e.display().to_string());
    }
    args.extend(pages.iter().map(|p| p.display().to_string()));
    node_tool("vnu.mjs", &args)
}

/// axe-core (WCAG 2.x A/AA) on each URL, in headless Chromium.
pub(crate) fn axe(urls: &[String]) -> serde_json::Value {
    node_tool("axe.mjs", urls)
}

/// A full-page PNG of `url`.
pub(crate) fn screenshot(url: &str, out: &Path, width: u32) {
    let status = Command::new("node")
        .arg(tools_dir().join("screenshot.mjs"))
        .arg(url)
        .arg(out)
        .arg(width.to_string())
        .status()
        .expect("node");
    assert!(status.success(), "capture de {url} impossible");
}

/// A free port on 127.0.0.1 (bound then released).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A running `veille serve`, stopped on drop.
pub(crate) struct Served {
    child: Child,
    pub(crate) base: String,
    pub(crate) addr: String,
}

impl Served {
    pub(crate) fn start(ws: &Workspace, port: u16) -> Served {
        let addr = format!("127.0.0.1:{port}");
        let mut child = ws
            .command(&["serve", "--listen", &addr])
            .stderr(Stdio::piped())
            .spawn()
            .expect("veille serve");
        // The server says where it listens once the socket is bound.
        let stderr = child.stderr.take().expect("stderr");
        let mut line = String::new();
        BufReader::new(stderr).read_line(&mut line).expect("read");
        assert!(line.contains(&addr), "veille serve : {line}");
        Served {
            child,
            base: format!("http://{addr}"),
            addr,
        }
    }

    pub(crate) fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        request(&self.addr, "GET", path, headers, "")
    }

    /// POSTs the form shown at `page` like a browser: its CSRF token added to `body`.
    pub(crate) fn submit(&self, page: &str, path: &str, body: &str) -> Response {
        post_form(&self.addr, page, path, body)
    }
}

/// The CSRF token of the form on the page at `path` (the first form: all forms of a page
/// share their action's token).
pub(crate) fn form_token(addr: &str, path: &str) -> String {
    let page = request(addr, "GET", path, &[], "");
    let text = page.text();
    let marker = "name=\"csrf\" value=\"";
    let start = text.find(marker).unwrap_or_else(|| {
        panic!(
            "pas de jeton anti-CSRF sur {path} ({}) :\n{text}",
            page.status
        )
    }) + marker.len();
    let end = start + text[start..].find('"').expect("fin du jeton");
    text[start..end].to_string()
}

/// POSTs the urlencoded `body` to `path`, with the CSRF token of the form shown at `page`.
pub(crate) fn post_form(addr: &str, page: &str, path: &str, body: &str) -> Response {
    let token = form_token(addr, page);
    let body = if body.is_empty() {
        format!("csrf={token}")
    } else {
        format!("{body}&csrf={token}")
    };
    post_raw(addr, path, &body)
}

/// POSTs the urlencoded `body` to `path` as it is (no CSRF token added).
pub(crate) fn post_raw(addr: &str, path: &str, body: &str) -> Response {
    request(
        addr,
        "POST",
        path,
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Content-Length", &body.len().to_string()),
        ],
        body,
    )
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
