//! `ruledex serve`: build, serve on loopback, rebuild when a root or the site's templates
//! change, and reload open pages. A build with errors shows them in a banner on every page
//! instead of stopping the server.

use crate::config::Config;
use crate::pipeline::{self, Progress};
use crate::verify::checks::Level;
use notify::{RecursiveMode, Watcher};
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the page script polls.
#[derive(Debug, Default, Clone)]
struct State {
    generation: u64,
    /// Error-level findings and build failures of the last build, one line each.
    errors: Vec<String>,
}

/// Builds once, then serves `out` on `127.0.0.1:port` until interrupted.
pub fn serve(
    config: Config,
    out: PathBuf,
    port: u16,
    progress: &dyn Progress,
) -> Result<(), String> {
    let state = Arc::new(Mutex::new(State::default()));
    rebuild(&config, &out, &state, progress);
    let server = tiny_http::Server::http(("127.0.0.1", port))
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e} (try another --port)"))?;
    let addr = server
        .server_addr()
        .to_ip()
        .map(|a| a.to_string())
        .unwrap_or_default();
    eprintln!(
        "serving {} on http://{addr}/ (Ctrl-C to stop)",
        out.display()
    );

    let (tx, rx) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        if let Ok(ev) = ev {
            if !matches!(ev.kind, notify::EventKind::Access(_)) {
                let _ = tx.send(());
            }
        }
    })
    .map_err(|e| format!("cannot watch files: {e}"))?;
    for p in watched(&config) {
        watcher
            .watch(&p, RecursiveMode::Recursive)
            .map_err(|e| format!("cannot watch {}: {e}", p.display()))?;
    }
    {
        let (config, out, state) = (config.clone(), out.clone(), Arc::clone(&state));
        std::thread::spawn(move || {
            while rx.recv().is_ok() {
                // Editors write in bursts: wait until the tree is quiet for a moment.
                while rx.recv_timeout(Duration::from_millis(150)).is_ok() {}
                rebuild(&config, &out, &state, &());
            }
        });
    }
    for request in server.incoming_requests() {
        let response = respond(&out, request.url(), &state);
        let _ = request.respond(response);
    }
    drop(watcher);
    Ok(())
}

/// Roots plus the site folder's templates and static files, where present.
fn watched(config: &Config) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = config.roots.iter().map(|r| r.path.clone()).collect();
    for sub in ["templates", "static", "content"] {
        let p = config.site_dir.join(sub);
        if p.is_dir() {
            v.push(p);
        }
    }
    v.push(config.site_dir.join(crate::config::FILE_NAME));
    v.retain(|p| p.exists());
    v
}

fn rebuild(config: &Config, out: &Path, state: &Mutex<State>, progress: &dyn Progress) {
    let built = pipeline::run(&config.roots, progress).and_then(|mut b| {
        if let Some(dir) = &config.reference {
            b.add_reference(dir)?;
        }
        Ok(b)
    });
    let errors = match built {
        Ok(mut build) => {
            build.apply_policy(&config.checks);
            let mut errors: Vec<String> = build
                .diagnostics
                .iter()
                .filter(|d| {
                    d.level == Level::Error && d.code != crate::verify::checks::Check::TestFailed
                })
                .map(|d| format!("{}:{}: {} [{}]", d.file, d.line, d.message, d.code.id()))
                .collect();
            errors.extend(
                build
                    .diagnostics
                    .iter()
                    .filter(|d| d.code == crate::verify::checks::Check::TestFailed)
                    .map(|d| format!("{}:{}: {} [test_failed]", d.file, d.line, d.message)),
            );
            if let Err(e) = crate::render::site(&build, config, out) {
                errors.insert(0, format!("render failed: {e}"));
            }
            errors
        }
        Err(e) => vec![format!("build failed: {e}")],
    };
    let count = errors.len();
    {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        s.generation += 1;
        s.errors = errors;
    }
    if count > 0 {
        // Never let a closed terminal stop the server.
        let _ = writeln!(
            std::io::stderr(),
            "rebuilt with {count} errors (shown on every page)"
        );
    }
}

type Response = tiny_http::Response<std::io::Cursor<Vec<u8>>>;

fn respond(out: &Path, url: &str, state: &Mutex<State>) -> Response {
    let path = url.split(['?', '#']).next().unwrap_or("/");
    if path == "/__ruledex/status" {
        let s = state.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let body = serde_json::json!({"generation": s.generation, "errors": s.errors}).to_string();
        return with_type(
            tiny_http::Response::from_data(body.into_bytes()),
            "application/json",
        );
    }
    let Some(file) = local_path(out, path) else {
        return tiny_http::Response::from_data(b"not found".to_vec()).with_status_code(404);
    };
    match std::fs::read(&file) {
        Ok(bytes) => {
            let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
            if ext == "html" {
                let s = state.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let html = inject(&String::from_utf8_lossy(&bytes), &s);
                with_type(
                    tiny_http::Response::from_data(html.into_bytes()),
                    "text/html; charset=utf-8",
                )
            } else {
                with_type(tiny_http::Response::from_data(bytes), content_type(ext))
            }
        }
        Err(_) => tiny_http::Response::from_data(b"not found".to_vec()).with_status_code(404),
    }
}

fn with_type(r: Response, ct: &str) -> Response {
    let h =
        tiny_http::Header::from_bytes(&b"Content-Type"[..], ct.as_bytes()).expect("valid header");
    r.with_header(h)
}

/// Maps a URL path into `out`, refusing anything that would leave it; folders give
/// their `index.html`.
fn local_path(out: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(url_path)?;
    let mut p = out.to_path_buf();
    for c in Path::new(decoded.trim_start_matches('/')).components() {
        match c {
            Component::Normal(s) => p.push(s),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if p.is_dir() {
        p.push("index.html");
    }
    p.is_file().then_some(p)
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn content_type(ext: &str) -> &'static str {
    match ext {
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "md" | "txt" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Adds the reload script and, when the last build had errors, a banner listing them.
fn inject(html: &str, s: &State) -> String {
    let mut extra = String::new();
    if !s.errors.is_empty() {
        extra.push_str("<aside id=\"ruledex-errors\" role=\"alert\" style=\"position:fixed;bottom:0;left:0;right:0;max-height:40vh;overflow:auto;background:#7f1d1d;color:#fff;padding:.75rem 1rem;font:14px/1.4 monospace;z-index:1000\"><strong>ruledex: the last build has errors</strong><ul>");
        for e in s.errors.iter().take(50) {
            extra.push_str("<li>");
            extra.push_str(&escape(e));
            extra.push_str("</li>");
        }
        extra.push_str("</ul></aside>");
    }
    extra.push_str(&format!(
        "<script>(function(){{var g={};setInterval(function(){{fetch('/__ruledex/status').then(function(r){{return r.json()}}).then(function(s){{if(s.generation!==g)location.reload()}}).catch(function(){{}})}},1000)}})();</script>",
        s.generation
    ));
    match html.rfind("</body>") {
        Some(i) => format!("{}{}{}", &html[..i], extra, &html[i..]),
        None => format!("{html}{extra}"),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_output() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "x").unwrap();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("a/index.html"), "y").unwrap();
        assert_eq!(
            local_path(dir.path(), "/"),
            Some(dir.path().join("index.html"))
        );
        assert_eq!(
            local_path(dir.path(), "/a/"),
            Some(dir.path().join("a/index.html"))
        );
        assert_eq!(local_path(dir.path(), "/../etc/passwd"), None);
        assert_eq!(local_path(dir.path(), "/%2e%2e/etc/passwd"), None);
        assert_eq!(local_path(dir.path(), "/missing.html"), None);
    }

    #[test]
    fn banner_escapes_errors() {
        let s = State {
            generation: 3,
            errors: vec!["<script>alert(1)</script>".into()],
        };
        let html = inject("<html><body>x</body></html>", &s);
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("var g=3;"));
        assert!(html.ends_with("</body></html>"));
    }
}
