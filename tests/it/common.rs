//! Helpers shared by the end-to-end tests (each test file uses a subset).

use std::path::PathBuf;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared real data: `KLEINRAUM_SHARED_DATA`, else `../shared/data` beside the repository.
pub fn shared_data() -> PathBuf {
    match std::env::var("KLEINRAUM_SHARED_DATA") {
        Ok(v) if !v.is_empty() => PathBuf::from(v),
        _ => repo().join("../shared/data"),
    }
}

/// A Gebietsstände store path no other server of this test process uses (servers started by
/// tests never write into `data/`).
pub fn fresh_store() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    std::env::temp_dir().join(format!(
        "kleinraum-test-{}-{}.gpkg",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// A `kleinraum serve` process started by a test; killed when dropped.
pub struct Server {
    pub child: std::process::Child,
    /// `127.0.0.1:port`.
    pub addr: String,
    /// Every line the server logged so far (stderr), shared with the reader thread.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `kleinraum serve CONFIG --bind 127.0.0.1:0` in the repository with `env`, and
    /// waits (at most `wait`) for the address it logs and for its Gebietsstände (computed after
    /// it listens: [`ready_line`]).
    pub fn start(config: &str, env: &[(&str, &str)], wait: std::time::Duration) -> Server {
        use std::io::BufRead;
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kleinraum"));
        cmd.args(["serve", config, "--bind", "127.0.0.1:0"])
            .current_dir(repo())
            .env("KLEINRAUM_SHARED_DATA", shared_data())
            .env("RUST_LOG", "info")
            // A slowed import is what one test asks for, never inherited.
            .env_remove("KLEINRAUM_STORE_SLOW_IMPORT_MS")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start kleinraum serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let log2 = log.clone();
        std::thread::spawn(move || {
            let mut sent = false;
            let (mut addr, mut ready) = (None, false);
            // Keeps draining after the address so the server never blocks on a full pipe.
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if !sent {
                    if let Some(a) = listening_address(&line) {
                        addr = Some(a);
                    } else if ready_line(&line) {
                        ready = true;
                    }
                    if ready && addr.is_some() {
                        let _ = tx.send(Ok(addr.take().unwrap_or_default()));
                        sent = true;
                    } else if line.contains("Error") {
                        let _ = tx.send(Err(line.clone()));
                        sent = true;
                    }
                }
                log2.lock().unwrap().push(line);
            }
            let _ = tx.send(Err("the server exited".into()));
        });
        match rx.recv_timeout(wait) {
            Ok(Ok(addr)) => Server { child, addr, log },
            Ok(Err(line)) => {
                let _ = child.kill();
                panic!("server failed to start: {line}");
            }
            Err(_) => {
                let _ = child.kill();
                panic!("server did not log its address within {wait:?}");
            }
        }
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// The address in a server's `listening on http://ADDR` log line.
pub fn listening_address(line: &str) -> Option<String> {
    let i = line.find("listening on http://")?;
    Some(
        line[i + "listening on http://".len()..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
            .collect(),
    )
}

/// Whether a server's log line says its Gebietsstände are computed (or cannot be: the routes
/// then say why); on a small config this may come before the `listening on` line.
pub fn ready_line(line: &str) -> bool {
    line.contains("Gebietsstände ready") || line.contains("Gebietsstände failed")
}

/// One HTTP response, from [`request`] or [`raw_request`].
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// The headers as `name: value` lines (for searching them as text).
    pub fn header_lines(&self) -> String {
        self.headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// Sends `head` (request line and headers, without the final blank line) plus `body` on a new
/// connection (`Connection: close` added) and reads the whole response. Bodies may be chunked.
/// Only for what a client crate refuses to send: the hostile tests' malformed requests and
/// chosen `Host` headers; everything else goes through [`request`].
pub fn raw_request(addr: &str, head: &str, body: &[u8]) -> std::io::Result<Resp> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(120)))?;
    let mut req = head.trim_end().replace('\n', "\r\n");
    req.push_str("\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    parse_response(&buf)
}

/// Parses an HTTP/1.1 response (identity or chunked body).
pub fn parse_response(buf: &[u8]) -> std::io::Result<Resp> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no header end"))?;
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = buf[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or_else(|| bad("bad chunk"))?;
            let size = usize::from_str_radix(
                String::from_utf8_lossy(&rest[..nl])
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim(),
                16,
            )
            .map_err(|_| bad("bad chunk size"))?;
            rest = &rest[nl + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[..size.min(rest.len())]);
            rest = &rest[(size + 2).min(rest.len())..];
        }
        body = out;
    }
    Ok(Resp {
        status,
        headers,
        body,
    })
}

/// The tests' HTTP client (ureq, no TLS): no redirects followed, error statuses returned as
/// responses, no limit on body size, and a new connection for every request. Kept-alive
/// connections made the tests flaky: the server closes an idle one after its header-read
/// timeout (10 s, a slowloris guard), and a pooled connection then carried a POST into a
/// closed socket ("Peer disconnected") in two CI runs, the second with reuse limited to
/// connections idle for less than 5 s. Browsers and GIS clients retry on a fresh connection; a
/// test must not have to.
fn agent() -> &'static ureq::Agent {
    static AGENT: std::sync::OnceLock<ureq::Agent> = std::sync::OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_idle_connections(0)
            .timeout_global(Some(std::time::Duration::from_secs(120)))
            .build()
            .into()
    })
}

/// `method target` on `addr` with extra `Name: value` header lines and a body (none if empty).
/// An error (not a panic) when the server cannot be reached or cuts the answer off.
pub fn request(
    method: &str,
    addr: &str,
    target: &str,
    headers: &[&str],
    body: &[u8],
) -> std::io::Result<Resp> {
    let mut req = ureq::http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{target}"));
    for h in headers {
        let (k, v) = h
            .split_once(':')
            .unwrap_or_else(|| panic!("header line without a colon: {h}"));
        req = req.header(k.trim(), v.trim());
    }
    let err = |e: ureq::Error| std::io::Error::other(format!("{method} {target}: {e}"));
    let mut resp = if body.is_empty() {
        agent().run(req.body(()).map_err(std::io::Error::other)?)
    } else {
        agent().run(req.body(body.to_vec()).map_err(std::io::Error::other)?)
    }
    .map_err(err)?;
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (k.as_str().to_string(), v)
        })
        .collect();
    let body = resp
        .body_mut()
        .with_config()
        .limit(u64::MAX)
        .read_to_vec()
        .map_err(err)?;
    Ok(Resp {
        status: resp.status().as_u16(),
        headers,
        body,
    })
}

/// `GET path` with extra header lines.
pub fn get(addr: &str, path: &str, headers: &[&str]) -> Resp {
    request("GET", addr, path, headers, b"").unwrap_or_else(|e| panic!("{e}"))
}

/// `POST path` with a bearer token and a JSON body.
pub fn post_json(addr: &str, path: &str, token: &str, body: &serde_json::Value) -> Resp {
    let auth = format!("Authorization: Bearer {token}");
    let headers = [auth.as_str(), "Content-Type: application/json"];
    request("POST", addr, path, &headers, body.to_string().as_bytes())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The text of a PDF (`pdftotext -layout`, poppler-utils).
pub fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("r.pdf");
    std::fs::write(&p, pdf).expect("write pdf");
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(&p)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) must be installed: scripts/setup --test");
    assert!(
        out.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `pdfinfo` of a PDF: (pages, page size line).
pub fn pdf_info(pdf: &[u8]) -> (usize, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("r.pdf");
    std::fs::write(&p, pdf).expect("write pdf");
    let out = std::process::Command::new("pdfinfo")
        .arg(&p)
        .output()
        .expect("pdfinfo");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .map(|l| l[name.len()..].trim().to_string())
            .unwrap_or_default()
    };
    (field("Pages:").parse().unwrap_or(0), field("Page size:"))
}

/// One entry of a ZIP file (stored or deflated), found through the central directory.
pub fn zip_entry(b: &[u8], name: &str) -> Option<Vec<u8>> {
    use std::io::Read;
    if b.len() < 22 {
        return None;
    }
    let eocd = (0..b.len() - 21)
        .rev()
        .find(|&i| b[i..i + 4] == [0x50, 0x4b, 5, 6])?;
    let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]) as usize;
    let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize;
    let mut p = u32_at(eocd + 16);
    for _ in 0..u16_at(eocd + 10) {
        let (method, csize) = (u16_at(p + 10), u32_at(p + 20));
        let (nl, el, cl) = (u16_at(p + 28), u16_at(p + 30), u16_at(p + 32));
        let local = u32_at(p + 42);
        if &b[p + 46..p + 46 + nl] == name.as_bytes() {
            let at = local + 30 + u16_at(local + 26) + u16_at(local + 28);
            let data = &b[at..at + csize];
            if method == 0 {
                return Some(data.to_vec());
            }
            let mut v = Vec::new();
            flate2::read::DeflateDecoder::new(data)
                .read_to_end(&mut v)
                .ok()?;
            return Some(v);
        }
        p += 46 + nl + el + cl;
    }
    None
}

/// The DOCX's `word/document.xml` and the text of its `<w:t>` runs (one space between runs).
pub fn docx_text(docx: &[u8]) -> (String, String) {
    let xml = String::from_utf8(zip_entry(docx, "word/document.xml").expect("word/document.xml"))
        .expect("utf-8 xml");
    let mut text = String::new();
    for part in xml.split("<w:t").skip(1) {
        // `<w:t>` or `<w:t xml:space="preserve">`, not `<w:tbl>`, `<w:tc>`, …
        if !(part.starts_with('>') || part.starts_with(' ')) {
            continue;
        }
        if let (Some(s), Some(e)) = (part.find('>'), part.find("</w:t>"))
            && s < e
        {
            text.push_str(
                &part[s + 1..e]
                    .replace("&amp;", "&")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\""),
            );
            text.push(' ');
        }
    }
    (text, xml)
}

/// A CSV file as rows of column → text.
pub fn read_csv(path: &std::path::Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let h: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    r.records()
        .map(|rec| {
            h.iter()
                .cloned()
                .zip(rec.unwrap().iter().map(str::to_string))
                .collect()
        })
        .collect()
}
