//! `ruledex serve`: serves the build, notices a broken rule file and reports it instead of
//! stopping.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn get(port: u16, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("server accepts");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let status = buf
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = buf
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

struct Kill(std::process::Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serves_rebuilds_and_shows_errors() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check/good.yml");
    std::fs::copy(&fixture, rules.join("good.yml")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ruledex"))
        .current_dir(dir.path())
        .args(["serve", "rules", "--port", "0", "-q", "-o", "site"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let _guard = Kill(child);
    let mut port = 0u16;
    let mut lines = BufReader::new(stderr).lines().map_while(Result::ok);
    for line in lines.by_ref() {
        if let Some(rest) = line.split("http://127.0.0.1:").nth(1) {
            port = rest
                .trim_end_matches('/')
                .split('/')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            break;
        }
    }
    // Keep draining the server's stderr so its writes never hit a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    assert!(port > 0, "server printed its address");
    let (code, body) = get(port, "/__ruledex/status");
    assert_eq!(code, 200);
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["generation"], 1);
    assert!(status["errors"].as_array().unwrap().is_empty(), "{body}");
    assert_eq!(get(port, "/../../etc/passwd").0, 404);

    let broken =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check/broken.yml");
    std::fs::copy(&broken, rules.join("broken.yml")).unwrap();
    let start = Instant::now();
    loop {
        let (_, body) = get(port, "/__ruledex/status");
        let s: serde_json::Value = serde_json::from_str(&body).unwrap();
        if s["generation"].as_u64().unwrap() >= 2 && !s["errors"].as_array().unwrap().is_empty() {
            assert!(
                s["errors"][0].as_str().unwrap().contains("broken.yml"),
                "{body}"
            );
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no rebuild after the rule changed: {body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
