//! The one-shot loopback listener of RFC 8252 §7.3: the browser comes back
//! to `http://127.0.0.1:<port>/?code=…&state=…`, the listener checks
//! `state`, answers with a page that says what happened, and hands the
//! code over. A request with another `state` (a stale tab, another
//! program) is refused with a page saying so, and the wait goes on.

use std::io::{Read, Write};
use std::net::{Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use url::Url;

use super::OAuthError;

/// What came back to the redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// The code, with the right state, and the issuer that sent it if the
    /// provider says (RFC 9207's `iss`).
    Code {
        /// The authorization code.
        code: String,
        /// `iss`, when given.
        iss: Option<String>,
    },
    /// The provider sent the person back with an error.
    Error {
        /// `access_denied`, …
        error: String,
        /// Its words.
        description: Option<String>,
    },
    /// Not for this sign-in: a missing or different state.
    WrongState,
    /// Not a redirect at all (`/favicon.ico`, a query without code).
    Other,
}

/// Reads a redirect URL's query (from the browser, or pasted back).
pub fn read_callback(query: &str, state: &str) -> Callback {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let Some(got_state) = get("state") else {
        return if get("code").is_some() || get("error").is_some() {
            Callback::WrongState
        } else {
            Callback::Other
        };
    };
    // Compared in full, not by prefix; timing does not matter for a
    // value a local attacker cannot watch being compared.
    if got_state != state {
        return Callback::WrongState;
    }
    if let Some(error) = get("error") {
        return Callback::Error {
            error,
            description: get("error_description"),
        };
    }
    match get("code") {
        Some(code) if !code.is_empty() => Callback::Code {
            code,
            iss: get("iss"),
        },
        _ => Callback::Other,
    }
}

/// Reads a redirect URL the person pasted (the browser was on another
/// machine). `Err` says what is wrong with it.
pub fn read_pasted(text: &str, state: &str) -> Result<Callback, String> {
    let url = Url::parse(text.trim()).map_err(|e| format!("that is not an address: {e}"))?;
    match read_callback(url.query().unwrap_or(""), state) {
        Callback::Other => Err("that address carries no code: paste the whole address the \
                                browser ended on (http://127.0.0.1:… or http://localhost:…)"
            .into()),
        other => Ok(other),
    }
}

/// The listener, bound and waiting.
pub struct Loopback {
    listeners: Vec<TcpListener>,
    /// What to send as `redirect_uri`.
    pub redirect_uri: String,
}

impl Loopback {
    /// Binds a free port on 127.0.0.1. With `host` "localhost" the same
    /// port is bound on ::1 too where it can be, since a browser may try
    /// either; the redirect then names `localhost`.
    pub fn bind(host: &str) -> Result<Loopback, OAuthError> {
        let v4 =
            TcpListener::bind("127.0.0.1:0").map_err(|e| OAuthError::Listener(e.to_string()))?;
        let port = v4
            .local_addr()
            .map_err(|e| OAuthError::Listener(e.to_string()))?
            .port();
        let mut listeners = vec![v4];
        let redirect_uri = if host == "localhost" {
            if let Ok(v6) = TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port))) {
                listeners.push(v6);
            }
            format!("http://localhost:{port}")
        } else {
            format!("http://127.0.0.1:{port}/")
        };
        for l in &listeners {
            l.set_nonblocking(true)
                .map_err(|e| OAuthError::Listener(e.to_string()))?;
        }
        Ok(Loopback {
            listeners,
            redirect_uri,
        })
    }

    /// Waits for the browser until `deadline`, checking `stop` (cancel, or
    /// a pasted URL) every 50 ms: `Ok(Some(callback))` when a redirect
    /// came (a [`Callback::WrongState`] was refused with a page saying so:
    /// wait again), `Ok(None)` when `stop` said so.
    pub fn wait(
        &self,
        state: &str,
        deadline: Instant,
        mut stop: impl FnMut() -> bool,
    ) -> Result<Option<Callback>, OAuthError> {
        loop {
            if stop() {
                return Ok(None);
            }
            if Instant::now() >= deadline {
                return Err(OAuthError::TimedOut);
            }
            let mut idle = true;
            for l in &self.listeners {
                match l.accept() {
                    Ok((stream, _)) => {
                        idle = false;
                        if let Some(callback) = answer(stream, state) {
                            return Ok(Some(callback));
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => {} // a connection reset before accept: keep waiting
                }
            }
            if idle {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Reads one request and answers it. `Some` when it was a redirect (this
/// sign-in's code or error, or one with another state, refused);
/// `None` for anything else (answered, ignored).
fn answer(mut stream: TcpStream, state: &str) -> Option<Callback> {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let line = String::from_utf8_lossy(&head);
    let target = line
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("GET "))
        .and_then(|l| l.split(' ').next())
        .unwrap_or("");
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    let callback = read_callback(query, state);
    let (status, title, text) = match &callback {
        Callback::Code { .. } => (
            "200 OK",
            "Signed in",
            "Postscope has the answer and is finishing the sign-in. You can close this tab \
             and go back to Postscope.",
        ),
        Callback::Error { .. } => (
            "200 OK",
            "Not signed in",
            "The provider did not sign you in. Postscope says why; you can close this tab.",
        ),
        Callback::WrongState => (
            "400 Bad Request",
            "Not this sign-in",
            "This answer is not for the sign-in Postscope is waiting for (it may be from an \
             earlier attempt), so it was not used. Use the tab of the latest sign-in.",
        ),
        Callback::Other => (
            "404 Not Found",
            "Nothing here",
            "This is Postscope's sign-in listener.",
        ),
    };
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title} — Postscope</title>\
         <style>body{{font:16px system-ui,sans-serif;margin:4em auto;max-width:34em;color:#222}}\
         </style></head><body><h1>{title}</h1><p>{text}</p></body></html>"
    );
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{page}",
        page.len()
    );
    let _ = stream.flush();
    match callback {
        Callback::Other => None,
        _ => Some(callback),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(c: &str) -> Callback {
        Callback::Code {
            code: c.into(),
            iss: None,
        }
    }

    #[test]
    fn callbacks_are_read_and_state_is_checked() {
        assert_eq!(read_callback("code=abc&state=s1", "s1"), code("abc"));
        assert_eq!(
            read_callback("code=abc&state=s1&iss=https%3A%2F%2Fid.example", "s1"),
            Callback::Code {
                code: "abc".into(),
                iss: Some("https://id.example".into())
            }
        );
        assert_eq!(
            read_callback("code=abc&state=s2", "s1"),
            Callback::WrongState
        );
        assert_eq!(read_callback("code=abc", "s1"), Callback::WrongState);
        assert_eq!(
            read_callback("state=s1xx&code=a", "s1"),
            Callback::WrongState
        );
        assert_eq!(read_callback("", "s1"), Callback::Other);
        assert_eq!(
            read_callback(
                "error=access_denied&error_description=no+way&state=s1",
                "s1"
            ),
            Callback::Error {
                error: "access_denied".into(),
                description: Some("no way".into())
            }
        );
        assert_eq!(
            read_pasted("http://127.0.0.1:5/?code=c&state=s", "s"),
            Ok(code("c"))
        );
        assert!(read_pasted("nonsense", "s").is_err());
        assert!(
            read_pasted("http://127.0.0.1:5/", "s")
                .unwrap_err()
                .contains("no code")
        );
    }

    #[test]
    fn the_listener_refuses_a_wrong_state_and_takes_the_right_one() {
        let lb = Loopback::bind("127.0.0.1").unwrap();
        let url = Url::parse(&lb.redirect_uri).unwrap();
        let port = url.port().unwrap();
        let get = move |path: &str| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out
        };
        let browser = std::thread::spawn(move || {
            let wrong = get("/?code=evil&state=other");
            let icon = get("/favicon.ico");
            let right = get("/?code=good&state=mine");
            (wrong, icon, right)
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        let got = lb.wait("mine", deadline, || false).unwrap();
        assert_eq!(got, Some(Callback::WrongState));
        let got = lb.wait("mine", deadline, || false).unwrap();
        assert_eq!(got, Some(code("good")));
        let (wrong, icon, right) = browser.join().unwrap();
        assert!(wrong.starts_with("HTTP/1.1 400") && wrong.contains("Not this sign-in"));
        assert!(icon.starts_with("HTTP/1.1 404"));
        assert!(right.starts_with("HTTP/1.1 200") && right.contains("You can close this tab"));
        // Stopping from outside.
        let stopped = lb
            .wait("mine", Instant::now() + Duration::from_secs(20), || true)
            .unwrap();
        assert_eq!(stopped, None);
    }
}
