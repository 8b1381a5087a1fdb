//! End to end: `kleinraum serve` behind a real nginx (Debian's) under the path prefix
//! `/kleinraum/`, the way a municipality publishes it (`https://geo.kreis.de/kleinraum/…`).
//! Every link in every response must carry the prefix and lead somewhere; GDAL must page
//! through a layer; the map's page and files must load through the proxy.

use std::collections::{BTreeSet, VecDeque};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Server, fresh_store, raw_request};

struct Nginx {
    child: Child,
    _dir: tempfile::TempDir,
    port: u16,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// nginx in the foreground with a configuration in a temporary directory: `/kleinraum/` is
/// passed to `upstream`, with the forwarding headers a proxy sets.
fn nginx(upstream: &str) -> Nginx {
    let bin = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("nginx not installed (scripts/setup --test installs nginx-light)");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let port = free_port();
    let conf = format!(
        r#"worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 256; }}
http {{
  access_log {d}/access.log;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location /kleinraum/ {{
      proxy_pass http://{upstream}/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Prefix /kleinraum;
    }}
  }}
}}
"#
    );
    let path = dir.path().join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new(bin)
        .args([
            "-c",
            path.to_str().unwrap(),
            "-p",
            dir.path().to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nginx");
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t.elapsed() < Duration::from_secs(20), "nginx did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Nginx {
        child,
        _dir: dir,
        port,
    }
}

/// Every `href` in a JSON document (links) or an HTML page.
fn hrefs(body: &str, json: bool) -> Vec<String> {
    if json {
        let mut out = Vec::new();
        fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    for (k, x) in m {
                        match (k.as_str(), x) {
                            ("href" | "url", serde_json::Value::String(s)) => out.push(s.clone()),
                            _ => walk(x, out),
                        }
                    }
                }
                serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                _ => {}
            }
        }
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
            walk(&v, &mut out);
        }
        out
    } else {
        body.split("href=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .map(|s| s.replace("&amp;", "&"))
            .collect()
    }
}

#[test]
fn behind_nginx_under_a_prefix_every_link_carries_it() {
    let store = fresh_store();
    let srv = Server::start(
        "data/demo.toml",
        &[
            ("KLEINRAUM_STORE", store.to_str().unwrap()),
            ("KLEINRAUM_TRUSTED_PROXIES", "127.0.0.1"),
        ],
        Duration::from_secs(300),
    );
    let proxy = nginx(&srv.addr);
    let host = format!("127.0.0.1:{}", proxy.port);
    let root = format!("http://{host}/kleinraum");
    let fetch = |url: &str| {
        let path = url.strip_prefix(&format!("http://{host}")).unwrap();
        raw_request(&host, &format!("GET {path} HTTP/1.1\nHost: {host}"), b"")
            .unwrap_or_else(|e| panic!("{url}: {e}"))
    };
    // Crawl from the landing page (JSON and HTML), following every link that stays on the
    // server, except the large downloads.
    let mut queue: VecDeque<String> = [format!("{root}/?f=json"), format!("{root}/?f=html")].into();
    let mut seen = BTreeSet::new();
    let mut checked = 0;
    while let Some(url) = queue.pop_front() {
        if !seen.insert(url.clone()) || seen.len() > 400 {
            continue;
        }
        // The OpenAPI `servers` entry: the prefix itself.
        if url == root {
            continue;
        }
        assert!(
            url.starts_with(&format!("{root}/")),
            "a link without the prefix: {url}"
        );
        let r = fetch(&url);
        assert_eq!(r.status, 200, "{url}: {}", r.text());
        checked += 1;
        let ty = r.header("content-type").unwrap_or("").to_string();
        if url.contains("/download") || !(ty.contains("json") || ty.contains("html")) {
            continue;
        }
        for h in hrefs(&r.text(), !ty.contains("html")) {
            if h.starts_with("http://") || h.starts_with('/') {
                if h.contains("geojson.org")
                    || h.contains("opengis.net")
                    || h.contains("json-schema.org")
                {
                    continue;
                }
                let abs = if h.starts_with('/') {
                    format!("http://{host}{h}")
                } else {
                    h
                };
                queue.push_back(abs);
            }
        }
    }
    assert!(checked > 40, "crawled {checked} resources");
    // The OpenAPI document names the prefixed server.
    let api = fetch(&format!("{root}/api")).json();
    assert_eq!(api["servers"][0]["url"], root.as_str());
    // The map and its modules load through the proxy (they address the API relative to it).
    let map = fetch(&format!("{root}/map/"));
    assert_eq!(map.status, 200);
    assert!(map.text().contains("<script"), "map page");
    assert_eq!(fetch(&format!("{root}/map/js/api.js")).status, 200);
    // GDAL pages through the layer with the server's next links (limit 7 → 5 pages).
    if let Ok(out) = Command::new("ogrinfo")
        .args([
            "-ro",
            "-al",
            "-so",
            "--config",
            "OGR_OAPIF_PAGE_SIZE",
            "7",
            &format!("OAPIF:{root}/"),
            "sozialraeume",
        ])
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "ogrinfo: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("Feature Count: 30"), "{text}");
    }
}
