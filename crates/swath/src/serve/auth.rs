//! Who is calling: the tokens file, the Flight handshake (basic auth → a session
//! token), and a layer in front of every gRPC method that turns the
//! `authorization` header into a [`Caller`] or refuses the call.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::Engine;
use tonic::Status;

/// The users and their tokens (`--tokens FILE`: one `user:token` a line).
#[derive(Clone, Default)]
pub struct Tokens {
    by_token: HashMap<String, String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut users: Vec<&String> = self.by_token.values().collect();
        users.sort();
        f.debug_struct("Tokens").field("users", &users).finish()
    }
}

/// Shortest token accepted: a guessable token is no authentication.
const MIN_TOKEN_LEN: usize = 16;

impl Tokens {
    /// Parse a tokens file's text: `user:token` a line, `#` comments, blank lines.
    pub fn parse(text: &str) -> Result<Tokens, String> {
        let mut by_token = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((user, token)) = line.split_once(':') else {
                return Err(format!("line {}: expected user:token", n + 1));
            };
            let (user, token) = (user.trim(), token.trim());
            if user.is_empty()
                || user.chars().any(|c| c.is_control() || c.is_whitespace())
            {
                return Err(format!("line {}: a user name is one word", n + 1));
            }
            if token.len() < MIN_TOKEN_LEN || !token.is_ascii() {
                return Err(format!(
                    "line {}: the token of {user} must be at least {MIN_TOKEN_LEN} ASCII \
                     characters",
                    n + 1
                ));
            }
            if by_token
                .insert(token.to_string(), user.to_string())
                .is_some()
            {
                return Err(format!("line {}: a token is given twice", n + 1));
            }
        }
        if by_token.is_empty() {
            return Err("no user:token line".into());
        }
        Ok(Tokens { by_token })
    }

    /// Read a tokens file.
    pub fn load(path: &std::path::Path) -> Result<Tokens, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--tokens {}: {e}", path.display()))?;
        Tokens::parse(&text).map_err(|e| format!("--tokens {}: {e}", path.display()))
    }

    /// The user whose token `token` is (compared in constant time per token).
    pub fn user(&self, token: &str) -> Option<&str> {
        let mut found = None;
        for (t, user) in &self.by_token {
            if constant_time_eq(t.as_bytes(), token.as_bytes()) {
                found = Some(user.as_str());
            }
        }
        found
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.by_token.len()
    }

    /// Whether there is no user.
    pub fn is_empty(&self) -> bool {
        self.by_token.is_empty()
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The authenticated caller of a request, put in its extensions by [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user (`anonymous` on a server without tokens).
    pub user: String,
    /// The session a handshake issued, or `None` for the user's default session.
    pub session: Option<String>,
}

/// Session tokens issued by handshakes, and the users' tokens.
#[derive(Debug)]
pub struct Authenticator {
    tokens: Option<Tokens>,
    /// Session token → (user, when issued).
    sessions: std::sync::Mutex<HashMap<String, (String, std::time::Instant)>>,
}

/// A random token of 256 bits, hex.
pub fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

impl Authenticator {
    /// With `tokens`, every call must authenticate; without, any caller is
    /// `anonymous` (the server then listens on loopback only).
    pub fn new(tokens: Option<Tokens>) -> Authenticator {
        Authenticator {
            tokens,
            sessions: std::sync::Mutex::default(),
        }
    }

    /// Whether calls must authenticate.
    pub fn required(&self) -> bool {
        self.tokens.is_some()
    }

    /// Check basic credentials (the handshake): the user whose token `password` is
    /// (without tokens, `user` as given, or `anonymous`).
    pub fn basic(&self, user: &str, password: &str) -> Result<String, Status> {
        match &self.tokens {
            None => Ok(if user.is_empty() {
                "anonymous".into()
            } else {
                user.to_string()
            }),
            Some(tokens) => match tokens.user(password) {
                Some(u) if u == user => Ok(u.to_string()),
                _ => Err(unauthenticated()),
            },
        }
    }

    /// Issue a session token for `user` (a handshake).
    pub fn issue(&self, user: &str) -> String {
        let token = random_token();
        if let Ok(mut s) = self.sessions.lock() {
            s.insert(token.clone(), (user.to_string(), std::time::Instant::now()));
        }
        token
    }

    /// Forget session tokens older than `age` for which `live` is false (their
    /// session was never made, or is gone).
    pub fn prune(&self, live: impl Fn(&str) -> bool, age: std::time::Duration) {
        if let Ok(mut s) = self.sessions.lock() {
            s.retain(|token, (_, issued)| live(token) || issued.elapsed() < age);
        }
    }

    /// Forget a session token (its session was closed or evicted).
    pub fn revoke(&self, token: &str) {
        if let Ok(mut s) = self.sessions.lock() {
            s.remove(token);
        }
    }

    /// The caller presenting `authorization` (the header's value, if any).
    pub fn caller(&self, authorization: Option<&str>) -> Result<Caller, Status> {
        let anonymous = || Caller {
            user: "anonymous".into(),
            session: None,
        };
        let Some(header) = authorization else {
            return match self.tokens {
                None => Ok(anonymous()),
                Some(_) => Err(unauthenticated()),
            };
        };
        if let Some(token) = strip_scheme(header, "bearer") {
            let issued = self
                .sessions
                .lock()
                .ok()
                .and_then(|s| s.get(token).map(|(user, _)| user.clone()));
            if let Some(user) = issued {
                return Ok(Caller {
                    user,
                    session: Some(token.to_string()),
                });
            }
            return match &self.tokens {
                Some(tokens) => tokens
                    .user(token)
                    .map(|user| Caller {
                        user: user.to_string(),
                        session: None,
                    })
                    .ok_or_else(unauthenticated),
                None => Err(Status::unauthenticated(
                    "unknown session token (the server restarted or the session \
                     expired): connect again",
                )),
            };
        }
        if let Some(encoded) = strip_scheme(header, "basic") {
            let (user, password) = decode_basic(encoded)?;
            let user = self.basic(&user, &password)?;
            return Ok(Caller {
                user,
                session: None,
            });
        }
        Err(unauthenticated())
    }
}

/// The one answer to bad credentials: no detail on what was wrong.
pub fn unauthenticated() -> Status {
    Status::unauthenticated("invalid credentials")
}

fn strip_scheme<'a>(header: &'a str, scheme: &str) -> Option<&'a str> {
    let (s, rest) = header.split_once(' ')?;
    s.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}

/// `user`, `password` of a basic-auth value (base64 of `user:password`).
pub fn decode_basic(encoded: &str) -> Result<(String, String), Status> {
    // With or without padding (Go's Flight client sends none).
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(encoded.trim().trim_end_matches('='))
        .map_err(|_| unauthenticated())?;
    let text = String::from_utf8(bytes).map_err(|_| unauthenticated())?;
    let (user, password) = text.split_once(':').ok_or_else(unauthenticated)?;
    Ok((user.to_string(), password.to_string()))
}

/// The basic credentials of a request's `authorization` header.
pub fn basic_credentials(
    metadata: &tonic::metadata::MetadataMap,
) -> Option<(String, String)> {
    let header = metadata.get("authorization")?.to_str().ok()?;
    decode_basic(strip_scheme(header, "basic")?).ok()
}

/// A tower layer in front of the Flight service: every call but the handshake
/// needs a valid `authorization` header (when the server has tokens); the caller
/// goes into the request's extensions.
#[derive(Clone)]
pub struct AuthLayer(pub Arc<Authenticator>);

impl<S> tower_layer::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            auth: Arc::clone(&self.0),
        }
    }
}

/// [`AuthLayer`]'s service.
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    auth: Arc<Authenticator>,
}

type BoxFuture<T, E> = Pin<Box<dyn std::future::Future<Output = Result<T, E>> + Send>>;

impl<S, B> tower_service::Service<http::Request<B>> for AuthService<S>
where
    S: tower_service::Service<
            http::Request<B>,
            Response = http::Response<tonic::body::Body>,
        > + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        if request.uri().path().ends_with("/Handshake") {
            return Box::pin(self.inner.call(request));
        }
        let header = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        match self.auth.caller(header) {
            Ok(caller) => {
                request.extensions_mut().insert(caller);
                Box::pin(self.inner.call(request))
            }
            Err(status) => Box::pin(async move { Ok(status.into_http()) }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_file_rules() {
        let t = Tokens::parse(
            "# users\nalice:aaaaaaaaaaaaaaaaaaaa\n\nbob: bbbbbbbbbbbbbbbbbbbb \n",
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t.user("bbbbbbbbbbbbbbbbbbbb"), Some("bob"));
        assert_eq!(t.user("bbbbbbbbbbbbbbbbbbbc"), None);
        assert!(
            Tokens::parse("alice:short")
                .unwrap_err()
                .contains("at least 16")
        );
        assert!(
            Tokens::parse("no colon here")
                .unwrap_err()
                .contains("user:token")
        );
        assert!(
            Tokens::parse("a:aaaaaaaaaaaaaaaaaaaa\nb:aaaaaaaaaaaaaaaaaaaa")
                .unwrap_err()
                .contains("twice")
        );
        assert!(Tokens::parse("# nothing\n").is_err());
    }

    #[test]
    fn callers_from_headers() {
        let auth = Authenticator::new(Some(
            Tokens::parse("alice:aaaaaaaaaaaaaaaaaaaa").unwrap(),
        ));
        assert_eq!(
            auth.caller(None).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
        let c = auth.caller(Some("Bearer aaaaaaaaaaaaaaaaaaaa")).unwrap();
        assert_eq!((c.user.as_str(), c.session), ("alice", None));
        let wrong = auth
            .caller(Some("Bearer aaaaaaaaaaaaaaaaaaab"))
            .unwrap_err();
        assert_eq!(wrong.message(), "invalid credentials");
        let basic = base64::engine::general_purpose::STANDARD
            .encode("alice:aaaaaaaaaaaaaaaaaaaa");
        assert_eq!(
            auth.caller(Some(&format!("Basic {basic}"))).unwrap().user,
            "alice"
        );
        let other =
            base64::engine::general_purpose::STANDARD.encode("bob:aaaaaaaaaaaaaaaaaaaa");
        assert!(auth.caller(Some(&format!("Basic {other}"))).is_err());
        let unpadded = base64::engine::general_purpose::STANDARD_NO_PAD
            .encode("alice:aaaaaaaaaaaaaaaaaaaa");
        assert_eq!(
            auth.caller(Some(&format!("Basic {unpadded}")))
                .unwrap()
                .user,
            "alice"
        );
        let session = auth.issue("alice");
        let c = auth.caller(Some(&format!("bearer {session}"))).unwrap();
        assert_eq!(c.session.as_deref(), Some(session.as_str()));
        auth.revoke(&session);
        assert!(auth.caller(Some(&format!("Bearer {session}"))).is_err());
        let open = Authenticator::new(None);
        assert_eq!(open.caller(None).unwrap().user, "anonymous");
    }
}
