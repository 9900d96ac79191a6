//! A real OpenID Connect provider for the sign-in tests: npm's
//! `oidc-provider` (8.8.1) on loopback, driven by
//! `tests/support/oauth/server.mjs`. It prints `ISSUER http://127.0.0.1:P`
//! and stops when its stdin (a pipe only we hold) closes. Its `/test/*`
//! endpoints play the user: follow an authorization URL as a browser would
//! (to the app's loopback listener, or stopping before it), approve a
//! device code, revoke every grant, change the token lifetime.
//!
//! `bash scripts/test.sh` installs Node.js and runs `npm ci` there.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The public native client (no secret), as Microsoft's are.
pub const PUBLIC_CLIENT: &str = "postscope-public";
/// The client with a secret, as Google's installed apps are.
pub const SECRET_CLIENT: &str = "postscope-secret";
/// That client's secret.
pub const CLIENT_SECRET: &str = "test-secret";
/// The account the provider signs in when no login hint says otherwise.
pub const USER: &str = "ada@example.org";
/// The scopes the SMTP server needs in a token.
pub const SCOPES: [&str; 4] = ["openid", "email", "offline_access", "smtp"];

/// A running provider.
pub struct OidcServer {
    child: Child,
    stdin: Option<ChildStdin>,
    issuer: String,
    agent: ureq::Agent,
}

impl OidcServer {
    /// Starts one. `access_ttl`: the access tokens' lifetime in seconds.
    pub fn start(access_ttl: u64) -> OidcServer {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/oauth");
        assert!(
            dir.join("node_modules/oidc-provider").is_dir(),
            "the OAuth test provider is not installed: run `bash scripts/test.sh` \
             (it runs `npm ci` in tests/support/oauth)"
        );
        let mut child = Command::new("node")
            .arg(dir.join("server.mjs"))
            .args([
                "--access-ttl",
                &access_ttl.to_string(),
                "--device-interval",
                "1",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(if std::env::var_os("POSTSCOPE_IT_SHOW").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("start node (run `bash scripts/test.sh`, which installs Node.js)");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(issuer) = line.strip_prefix("ISSUER ") {
                    let _ = tx.send(issuer.trim().to_owned());
                }
            }
        });
        let issuer = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the OAuth test provider printed no ISSUER line within 30 s");
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        OidcServer {
            child,
            stdin,
            issuer,
            agent,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    fn post(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let mut response = self
            .agent
            .post(format!("{}{path}", self.issuer))
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let text = response.body_mut().read_to_string().unwrap_or_default();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
    }

    /// Follows an authorization URL as the user's browser, all the way to
    /// the app's loopback listener: `{"location", "status", "body"}`.
    pub fn browse(&self, url: &str) -> serde_json::Value {
        self.post("/test/browse", serde_json::json!({"url": url}))
    }

    /// A "browser" for the window: it hands each URL to the provider's
    /// `/test/browse` on a thread of its own, as a real browser would
    /// open it while the app waits. The answers go to `pages`.
    pub fn browser(
        &self,
        pages: mpsc::Sender<serde_json::Value>,
    ) -> impl Fn(&str) -> Result<(), String> + Send + Sync + 'static {
        let issuer = self.issuer.clone();
        let pages = std::sync::Mutex::new(pages);
        move |url: &str| {
            let (issuer, url) = (issuer.clone(), url.to_owned());
            let pages = pages.lock().map_err(|e| e.to_string())?.clone();
            std::thread::spawn(move || {
                let answer = ureq::post(format!("{issuer}/test/browse"))
                    .header("Content-Type", "application/json")
                    .send(serde_json::json!({"url": url}).to_string())
                    .ok()
                    .and_then(|mut r| r.body_mut().read_to_string().ok())
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or(serde_json::Value::Null);
                let _ = pages.send(answer);
            });
            Ok(())
        }
    }

    /// The same, stopping before the listener: the address to paste.
    pub fn redirect_for(&self, url: &str) -> String {
        let answer = self.post(
            "/test/browse",
            serde_json::json!({"url": url, "stop_at_redirect": true}),
        );
        answer["location"]
            .as_str()
            .unwrap_or_else(|| panic!("no redirect: {answer}"))
            .to_owned()
    }

    /// Approves a device code as the user would on the verification page.
    pub fn approve(&self, user_code: &str) -> serde_json::Value {
        self.post(
            "/test/device/approve",
            serde_json::json!({"user_code": user_code, "account": USER}),
        )
    }

    /// Revokes every grant: the next refresh gets `invalid_grant`.
    pub fn revoke_all(&self) {
        self.post("/test/revoke-all", serde_json::json!({}));
    }

    /// Changes settings (`access_ttl`, `slow_down`).
    pub fn set(&self, settings: serde_json::Value) {
        self.post("/test/settings", settings);
    }

    /// The authorization requests seen, as query objects.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        let mut response = self
            .agent
            .get(format!("{}/test/requests", self.issuer))
            .call()
            .expect("GET /test/requests");
        let text = response.body_mut().read_to_string().unwrap_or_default();
        serde_json::from_str(&text).unwrap_or_default()
    }
}

impl Drop for OidcServer {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
