//! End to end: the real `kleinraum serve` (demo data) under the requests that used to take it
//! down (issue "A server that survives any request"). Each must get a 4xx (or a fast 200)
//! within its limit while a monitor keeps asking `/conformance`, which must keep answering.

use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::common::{Server, fresh_store, get, raw_request};

const TOKENS: &str = "planner:test-planer:planner-token-123;admin:test-admin:admin-token-456";
const PLANNER: &str = "planner-token-123";

fn start() -> Server {
    let store = fresh_store();
    Server::start(
        "data/demo.toml",
        &[
            ("KLEINRAUM_STORE", store.to_str().unwrap()),
            ("KLEINRAUM_TOKENS", TOKENS),
        ],
        Duration::from_secs(300),
    )
}

/// Polls `/conformance` until stopped; returns (answers, failures, slowest answer). Returns
/// once the first poll has been answered, so the monitor watches everything that follows (on
/// a busy machine a new thread may not run before the hostile requests are done).
fn monitor(
    addr: String,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(u32, Vec<String>, Duration)> {
    let (first, polled) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let (mut ok, mut failed, mut slowest) = (0u32, Vec::new(), Duration::ZERO);
        loop {
            if ok + failed.len() as u32 == 1 {
                let _ = first.send(());
            }
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let t = Instant::now();
            match raw_request(
                &addr,
                &format!("GET /conformance HTTP/1.1\nHost: {addr}"),
                b"",
            ) {
                Ok(r) if r.status == 200 => ok += 1,
                Ok(r) => failed.push(format!("status {}", r.status)),
                Err(e) => failed.push(e.to_string()),
            }
            slowest = slowest.max(t.elapsed());
            std::thread::sleep(Duration::from_millis(50));
        }
        (ok, failed, slowest)
    });
    polled
        .recv_timeout(Duration::from_secs(120))
        .expect("the monitor's first /conformance within 120 s");
    handle
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn hostile_requests_get_4xx_and_the_server_keeps_answering() {
    let mut srv = start();
    let addr = srv.addr.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let mon = monitor(addr.clone(), stop.clone());
    let items = "/collections/sozialraeume/items";

    // S1: 2,500 nested parentheses (a 15 KB URL) — used to overflow the parser's stack.
    let deep = format!("{}residents > 1{}", "(".repeat(2_500), ")".repeat(2_500));
    let r = get(&addr, &format!("{items}?filter={}", enc(&deep)), &[]);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("verschachtelt"), "{}", r.text());
    // 2,000 × "NOT (" percent-encoded (18 KB) are over the URL limit already; 1,500 are
    // refused by the nesting limit.
    let nots = format!("{}residents > 1", "NOT (".repeat(2_000));
    let r = get(&addr, &format!("{items}?filter={}", enc(&nots)), &[]);
    assert_eq!(r.status, 414, "{}", r.text());
    let nots = format!("{}residents > 1", "NOT (".repeat(1_500));
    let r = get(&addr, &format!("{items}?filter={}", enc(&nots)), &[]);
    assert_eq!(r.status, 400, "{}", r.text());
    // A URL over 16 KiB is refused as such.
    let r = get(
        &addr,
        &format!("{items}?filter={}", "x".repeat(20_000)),
        &[],
    );
    assert_eq!(r.status, 414);

    // S2: a LIKE pattern that backtracked exponentially (3.3 s, 32 s, > 100 s) answers at once.
    let t = Instant::now();
    let r = get(
        &addr,
        &format!(
            "/collections/kitas/items?filter={}",
            enc("name LIKE '%_%_%_%_%_%_%_%_%_%_%_%#'")
        ),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // A 200 (not the 400 of an exhausted work budget) means the match finished in time.
    assert_eq!(r.json()["numberMatched"], 0);
    eprintln!("LIKE answered in {:?}", t.elapsed());

    // S3: an anonymous 64 MB upload is refused before its body is read (only headers sent).
    let r = raw_request(
        &addr,
        &format!(
            "POST /gebietsstaende?key=x&id_field=id HTTP/1.1\nHost: {addr}\nContent-Type: application/json\nContent-Length: 67108864"
        ),
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 401, "{}", r.text());
    // A planner's draft operation over its 4 MiB limit: 413.
    let big = vec![b' '; 5 * 1024 * 1024];
    let r = raw_request(
        &addr,
        &format!(
            "POST /entwurf/1/operation HTTP/1.1\nHost: {addr}\nAuthorization: Bearer {PLANNER}\nContent-Type: application/json\nContent-Length: {}",
            big.len()
        ),
        &big,
    )
    .unwrap();
    assert_eq!(r.status, 413, "{}", r.text());

    // S5: a self-intersecting 2,000-vertex polygon drawn in a draft: 400 at once, session
    // untouched.
    let col = get(&addr, "/collections/sozialraeume", &[]).json();
    let b = &col["extent"]["spatial"]["bbox"][0];
    let (cx, cy) = (
        (b[0].as_f64().unwrap() + b[2].as_f64().unwrap()) / 2.0,
        (b[1].as_f64().unwrap() + b[3].as_f64().unwrap()) / 2.0,
    );
    let mut ring: Vec<Value> = (0..2_000)
        .map(|k| {
            // A star that winds around 7 times: every edge crosses others.
            let a = k as f64 * 7.0 * std::f64::consts::TAU / 2_000.0 * 1.37;
            let r = if k % 2 == 0 { 0.01 } else { 0.004 };
            json!([cx + r * a.cos(), cy + r * a.sin() * 0.6])
        })
        .collect();
    ring.push(ring[0].clone());
    let auth = format!("Authorization: Bearer {PLANNER}");
    let start_body = json!({"base": "sozialraeume-2024"}).to_string();
    let r = raw_request(
        &addr,
        &format!(
            "POST /entwurf HTTP/1.1\nHost: {addr}\n{auth}\nContent-Type: application/json\nContent-Length: {}",
            start_body.len()
        ),
        start_body.as_bytes(),
    )
    .unwrap();
    assert_eq!(r.status, 201, "{}", r.text());
    let session = r.json()["id"].as_str().unwrap().to_string();
    let op =
        json!({"op": "draw", "geometry": {"type": "Polygon", "coordinates": [ring]}}).to_string();
    let t = Instant::now();
    let r = raw_request(
        &addr,
        &format!(
            "POST /entwurf/{session}/operation HTTP/1.1\nHost: {addr}\n{auth}\nContent-Type: application/json\nContent-Length: {}",
            op.len()
        ),
        op.as_bytes(),
    )
    .unwrap();
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("schneidet"), "{}", r.text());
    eprintln!("self-crossing draw refused in {:?}", t.elapsed());
    let areas = get(&addr, &format!("/entwurf/{session}/areas"), &[&auth]);
    assert_eq!(areas.status, 200);
    assert_eq!(
        areas.json()["features"].as_array().unwrap().len(),
        30,
        "session unchanged"
    );

    // Cache poisoning: a client's X-Forwarded-Host must not reach anyone else's links.
    let poisoned = get(
        &addr,
        &format!("{items}?limit=30"),
        &["X-Forwarded-Host: evil.example", "Accept-Encoding: gzip"],
    );
    assert_eq!(poisoned.status, 200);
    let later = get(
        &addr,
        &format!("{items}?limit=30"),
        &["Accept-Encoding: gzip"],
    );
    let mut text = String::new();
    use std::io::Read;
    flate2::read::GzDecoder::new(&later.body[..])
        .read_to_string(&mut text)
        .unwrap();
    assert!(!text.contains("evil.example"), "poisoned links served");
    assert!(text.contains(&format!("http://{addr}/collections")));
    assert!(
        later
            .header("vary")
            .is_some_and(|v| v.to_ascii_lowercase().contains("accept"))
    );
    // A Host header that is no host name is refused, not echoed into links.
    let r = get(&addr, "/collections", &[]);
    assert_eq!(r.status, 200);
    let r = raw_request(&addr, "GET /collections HTTP/1.1\nHost: a\"><script>", b"").unwrap();
    assert_eq!(r.status, 400);

    stop.store(true, Ordering::Relaxed);
    let (ok, failed, slowest) = mon.join().unwrap();
    assert!(failed.is_empty(), "/conformance failed: {failed:?}");
    assert!(ok > 0);
    eprintln!("/conformance answered {ok} times meanwhile, slowest {slowest:?}");
    assert!(srv.alive(), "the server is still running");
}

#[test]
fn slow_clients_cannot_take_every_connection() {
    // Raise this test's own file limit: it opens 1,100 sockets.
    unsafe {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut l);
        l.rlim_cur = l.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &l);
    }
    let mut srv = start();
    let addr: std::net::SocketAddr = srv.addr.parse().unwrap();
    // S4: 1,100 connections from 127.0.0.2 that send one byte of a request head and stop.
    let attacker: std::net::SocketAddr = "127.0.0.2:0".parse().unwrap();
    let mut held = Vec::new();
    for _ in 0..1_100 {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        s.bind(&attacker.into()).unwrap();
        if s.connect_timeout(&addr.into(), Duration::from_secs(2))
            .is_err()
        {
            continue;
        }
        let mut t: std::net::TcpStream = s.into();
        use std::io::Write;
        let _ = t.write_all(b"G");
        held.push(t);
    }
    // Everyone else is still served, at once.
    let t = Instant::now();
    let r = get(&srv.addr, "/conformance", &[]);
    assert_eq!(r.status, 200);
    eprintln!(
        "/conformance answered in {:?} with 1,100 slow connections open",
        t.elapsed()
    );
    // Beyond the per-address cap (64) connections were closed at once; the ones holding a
    // slot are closed when the header-read timeout (10 s) runs out.
    use std::io::Read;
    let mut closed = 0;
    for s in held.iter_mut() {
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut b = [0u8; 64];
        if matches!(s.read(&mut b), Ok(0) | Err(_)) {
            closed += 1;
        }
    }
    assert_eq!(closed, held.len(), "every slow connection closed");
    let log = srv.log.lock().unwrap().join("\n");
    assert!(log.contains("connection limit reached"), "limit logged");
    drop(log);
    assert!(srv.alive());
}
