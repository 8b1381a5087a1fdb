//! API tokens and roles. The public map needs none; everything that creates or changes data,
//! and every view of unpublished drafts, does.
//!
//! A request carries `Authorization: Bearer <token>`. No header = [`Role::Public`]; a header
//! with an unknown token is refused (401) rather than silently treated as public, so a typo in a
//! script shows up at once.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// What a caller may do, in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// No token: published data, disclosure control applied.
    Public,
    /// Reads drafts too (committee members, colleagues); writes nothing.
    Viewer,
    /// Creates and edits drafts, imports boundary files as drafts; sees only what passes the
    /// disclosure rules (plus the warnings that say why something is withheld).
    Planner,
    /// The statistics office inside the Abschottung: sees withheld values of drafts and
    /// uploads (small areas, differencing) and exact crosswalk counts.
    Statistik,
    /// Publishes versions, reads the audit log.
    Admin,
}

impl Role {
    /// Parses `viewer` / `planner` / `admin`.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "planner" => Some(Role::Planner),
            "statistik" => Some(Role::Statistik),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The name used in the API and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Public => "public",
            Role::Viewer => "viewer",
            Role::Planner => "planner",
            Role::Statistik => "statistik",
            Role::Admin => "admin",
        }
    }
}

/// One configured token.
#[derive(Clone)]
pub struct Token {
    /// Holder, written to the audit log.
    pub name: String,
    /// Role granted.
    pub role: Role,
    /// The secret.
    pub secret: String,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret (logs, panics).
        write!(f, "Token({}, {})", self.name, self.role.as_str())
    }
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Role.
    pub role: Role,
    /// Token holder; `None` for the public.
    pub name: Option<String>,
}

impl Caller {
    /// The anonymous public caller.
    pub fn public() -> Caller {
        Caller {
            role: Role::Public,
            name: None,
        }
    }

    /// Name for the audit log.
    pub fn actor(&self) -> String {
        self.name.clone().unwrap_or_else(|| "öffentlich".into())
    }
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No token where one is needed, or an unknown token (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// The token's role is too low (403).
    #[error("{0}")]
    Forbidden(String),
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let (status, title, code) = match &self {
            AuthError::Unauthenticated(_) => (
                StatusCode::UNAUTHORIZED,
                "Anmeldung erforderlich",
                "Unauthenticated",
            ),
            AuthError::Forbidden(_) => (StatusCode::FORBIDDEN, "Keine Berechtigung", "Forbidden"),
        };
        let mut r = crate::error::problem_titled(status, title, code, &self.to_string());
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"kleinraum\""),
            );
        }
        r
    }
}

/// The configured tokens.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    tokens: Vec<Token>,
}

/// Equal-length, data-independent comparison, so response times do not leak token prefixes.
fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Tokens {
    /// From explicit tokens. Empty secrets are dropped (a token whose env var is unset is off).
    pub fn new(tokens: Vec<Token>) -> Tokens {
        Tokens {
            tokens: tokens
                .into_iter()
                .filter(|t| !t.secret.is_empty())
                .collect(),
        }
    }

    /// Parses `role:name:secret;role:name:secret` (env `KLEINRAUM_TOKENS`).
    pub fn parse_list(spec: &str) -> Result<Vec<Token>, String> {
        let mut out = Vec::new();
        for (i, item) in spec.split(';').map(str::trim).enumerate() {
            if item.is_empty() {
                continue;
            }
            let mut parts = item.splitn(3, ':');
            let (Some(role), Some(name), Some(secret)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(format!(
                    "KLEINRAUM_TOKENS entry {}: expected role:name:secret",
                    i + 1
                ));
            };
            let role = Role::parse(role).ok_or_else(|| {
                format!(
                    "KLEINRAUM_TOKENS entry {}: role {role:?} is not viewer, planner, statistik or admin",
                    i + 1
                )
            })?;
            if secret.len() < 8 {
                return Err(format!(
                    "KLEINRAUM_TOKENS entry {} ({name}): the secret must have at least 8 characters",
                    i + 1
                ));
            }
            out.push(Token {
                name: name.to_string(),
                role,
                secret: secret.to_string(),
            });
        }
        Ok(out)
    }

    /// How many tokens are active.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// True without any token (every write is then refused).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Identifies the caller from the headers.
    pub fn caller(&self, headers: &HeaderMap) -> Result<Caller, AuthError> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Ok(Caller::public());
        };
        let value = value.to_str().unwrap_or("");
        let Some(secret) = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
        else {
            return Err(AuthError::Unauthenticated(
                "Authorization header: expected 'Bearer <token>'".into(),
            ));
        };
        let secret = secret.trim();
        self.tokens
            .iter()
            .find(|t| same_secret(&t.secret, secret))
            .map(|t| Caller {
                role: t.role,
                name: Some(t.name.clone()),
            })
            .ok_or_else(|| AuthError::Unauthenticated("unknown API token".into()))
    }

    /// The caller, who must have at least `min` (401 without a token, 403 below `min`).
    pub fn require(&self, headers: &HeaderMap, min: Role) -> Result<Caller, AuthError> {
        let c = self.caller(headers)?;
        if c.role == Role::Public && min > Role::Public {
            return Err(AuthError::Unauthenticated(format!(
                "this request needs an API token with role {} or higher",
                min.as_str()
            )));
        }
        if c.role < min {
            return Err(AuthError::Forbidden(format!(
                "role {} may not do this; it needs {} or higher",
                c.role.as_str(),
                min.as_str()
            )));
        }
        Ok(c)
    }
}
