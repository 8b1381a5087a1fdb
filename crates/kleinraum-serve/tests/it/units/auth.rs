use axum::http::HeaderValue;
use axum::http::{HeaderMap, header};
use kleinraum_serve::auth::*;

fn headers(v: Option<&str>) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Some(v) = v {
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
    }
    h
}

#[test]
fn roles_and_refusals() {
    let t = Tokens::new(
        Tokens::parse_list("planner:anna:secret-planner;admin:root:secret-admin1").unwrap(),
    );
    assert_eq!(t.len(), 2);
    assert_eq!(t.caller(&headers(None)).unwrap().role, Role::Public);
    let p = t
        .require(&headers(Some("Bearer secret-planner")), Role::Planner)
        .unwrap();
    assert_eq!(p.name.as_deref(), Some("anna"));
    assert!(matches!(
        t.require(&headers(None), Role::Planner),
        Err(AuthError::Unauthenticated(_))
    ));
    assert!(matches!(
        t.require(&headers(Some("Bearer secret-planner")), Role::Admin),
        Err(AuthError::Forbidden(_))
    ));
    assert!(matches!(
        t.caller(&headers(Some("Bearer secret-plannex"))),
        Err(AuthError::Unauthenticated(_))
    ));
    assert!(matches!(
        t.caller(&headers(Some("Basic abc"))),
        Err(AuthError::Unauthenticated(_))
    ));
    assert!(Tokens::parse_list("boss:x:longenough").is_err());
    assert!(Tokens::parse_list("admin:x:short").is_err());
    assert!(Tokens::parse_list("admin").is_err());
}

#[test]
fn token_secret_is_not_printed() {
    let t = Token {
        name: "anna".into(),
        role: Role::Planner,
        secret: "top-secret-value".into(),
    };
    assert!(!format!("{t:?}").contains("top-secret"));
}
