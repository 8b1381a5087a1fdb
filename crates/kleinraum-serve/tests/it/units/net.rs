use axum::http::HeaderMap;
use axum::http::HeaderValue;
use kleinraum_serve::net::*;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

#[test]
fn networks_contain_their_addresses() {
    let n = IpNet::parse("10.0.0.0/8").unwrap();
    assert!(n.contains("10.1.2.3".parse().unwrap()));
    assert!(!n.contains("11.0.0.1".parse().unwrap()));
    assert!(n.contains("::ffff:10.0.0.1".parse().unwrap()));
    let one = IpNet::parse("127.0.0.1").unwrap();
    assert!(one.contains("127.0.0.1".parse().unwrap()));
    assert!(!one.contains("127.0.0.2".parse().unwrap()));
    assert!(
        IpNet::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap())
    );
    assert!(
        IpNet::parse("::1/128")
            .unwrap()
            .contains("::1".parse().unwrap())
    );
    assert!(IpNet::parse("10.0.0.0/33").is_err());
    assert!(IpNet::parse("example.org").is_err());
}

#[test]
fn forwarded_headers_count_only_from_trusted_proxies() {
    let policy = ProxyPolicy {
        public_url: None,
        trusted_proxies: vec![IpNet::parse("127.0.0.1").unwrap()],
    };
    let h = headers(&[
        ("host", "127.0.0.1:8080"),
        ("x-forwarded-host", "geo.kreis.de"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-prefix", "/kleinraum/"),
    ]);
    let proxy = Some("127.0.0.1".parse().unwrap());
    let other = Some("192.0.2.7".parse().unwrap());
    assert_eq!(
        base_url(&policy, proxy, &h).unwrap(),
        "https://geo.kreis.de/kleinraum"
    );
    assert_eq!(
        base_url(&policy, other, &h).unwrap(),
        "http://127.0.0.1:8080"
    );
    assert_eq!(
        base_url(&policy, None, &h).unwrap(),
        "http://127.0.0.1:8080"
    );
    let fixed = ProxyPolicy {
        public_url: Some(parse_public_url("https://geo.kreis.de/kleinraum/").unwrap()),
        trusted_proxies: vec![],
    };
    assert_eq!(
        base_url(&fixed, other, &headers(&[("host", "evil.example")])).unwrap(),
        "https://geo.kreis.de/kleinraum"
    );
    assert!(base_url(&policy, other, &headers(&[("host", "a\"><script>")])).is_err());
    assert!(parse_public_url("ftp://x").is_err());
    assert!(parse_public_url("https://x/a?b").is_err());
}
