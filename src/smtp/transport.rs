//! The blocking driver: one thread, one TCP connection (plain or rustls),
//! shuttling bytes between the socket and a [`Session`]. It decides nothing
//! about the protocol; it only turns the session's deadlines into socket
//! timeouts, runs TLS handshakes when asked, and streams the message body.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConnection, StreamOwned};

use super::error::{SessionError, Stage};
use super::net::{BodySource, CancelToken, Conn, Target};
use super::session::{Event, Report, Session, SessionConfig, TlsMode};
use super::tls::{self, ClientSetup, TlsOptions};

/// Everything `run` needs besides the session's own configuration.
pub struct Connection<'a> {
    /// Where to connect.
    pub target: &'a Target,
    /// Certificate checking.
    pub tls: &'a TlsOptions,
    /// Cancels the session from elsewhere.
    pub cancel: &'a CancelToken,
}

/// Runs one session to its end: connect, talk, stream the body, QUIT.
/// Every event is passed to `on_event` as it happens (the live transcript);
/// the report and result are returned at the end.
pub fn run(
    conn: Connection<'_>,
    config: SessionConfig,
    body: Option<&dyn BodySource>,
    on_event: &mut dyn FnMut(&Event),
) -> (Report, Result<(), SessionError>) {
    let mut driver = Driver {
        session: Session::new(config, Instant::now()),
        target: conn.target,
        cancel: conn.cancel,
        setup: None,
        on_event,
    };
    driver.run(conn.tls, body)
}

struct Driver<'a, 'f> {
    session: Session,
    target: &'a Target,
    cancel: &'a CancelToken,
    setup: Option<ClientSetup>,
    on_event: &'f mut dyn FnMut(&Event),
}

impl Driver<'_, '_> {
    fn run(
        &mut self,
        tls_options: &TlsOptions,
        body: Option<&dyn BodySource>,
    ) -> (Report, Result<(), SessionError>) {
        let timeouts = self.session.config().timeouts;
        let mode = self.session.config().tls;
        if mode != TlsMode::None {
            match ClientSetup::new(tls_options) {
                Ok(setup) => self.setup = Some(setup),
                Err(e) => {
                    let stage = if mode == TlsMode::Implicit {
                        Stage::Connect
                    } else {
                        Stage::Tls
                    };
                    self.session.handle_connect_failed(
                        Instant::now(),
                        SessionError::Tls {
                            stage,
                            detail: e.to_string(),
                            unknown_issuer: false,
                        },
                    );
                    return self.drain_until_finished().unwrap_or_else(unfinished);
                }
            }
            if tls_options.dangerous_accept_invalid_certs {
                self.session.note(
                    Instant::now(),
                    "WARNING: certificate checks are off: the server's certificate will be accepted even if it is invalid",
                );
            }
        }
        let Some(mut conn) = self.connect(timeouts.connect) else {
            return self.drain_until_finished().unwrap_or_else(unfinished);
        };
        if mode == TlsMode::Implicit {
            conn = match self.handshake(conn, timeouts.connect, Stage::Connect) {
                Ok((conn, info)) => {
                    self.session.handle_connected(Instant::now(), Some(info));
                    conn
                }
                Err(e) => {
                    self.session.handle_connect_failed(Instant::now(), e);
                    return self.drain_until_finished().unwrap_or_else(unfinished);
                }
            };
        } else {
            self.session.handle_connected(Instant::now(), None);
        }
        let _ = conn.tcp().set_write_timeout(Some(timeouts.data_block));
        let result = self.talk(conn, body);
        result.unwrap_or_else(unfinished)
    }

    fn connect(&mut self, limit: Duration) -> Option<Conn> {
        let now = Instant::now();
        self.session
            .note(now, format!("resolving {}", self.target.host));
        let (host, port) = (self.target.host.clone(), self.target.port);
        let resolved = cancellable(self.cancel, move || {
            (host.as_str(), port)
                .to_socket_addrs()
                .map(|a| a.collect::<Vec<SocketAddr>>())
        });
        let addrs = match resolved {
            None => {
                self.session.cancel(Instant::now());
                return None;
            }
            Some(Ok(a)) => a,
            Some(Err(e)) => {
                self.fail_connect(format!("cannot resolve {}: {e}", self.target.host));
                return None;
            }
        };
        let mut last = format!("{} has no addresses", self.target.host);
        for addr in addrs {
            if self.cancel.is_cancelled() {
                self.session.cancel(Instant::now());
                return None;
            }
            self.session
                .note(Instant::now(), format!("connecting to {addr}"));
            self.forward_events();
            let Some(connected) = cancellable(self.cancel, move || {
                TcpStream::connect_timeout(&addr, limit)
            }) else {
                self.session.cancel(Instant::now());
                return None;
            };
            match connected {
                Ok(tcp) => {
                    let local = tcp.local_addr().map(|a| a.to_string()).unwrap_or_default();
                    self.session
                        .note(Instant::now(), format!("connected to {addr} from {local}"));
                    let _ = tcp.set_nodelay(true);
                    self.cancel.attach(&tcp);
                    return Some(Conn::Plain(tcp));
                }
                Err(e) => {
                    // The address is worth naming only when the host was a name.
                    let which = if addr.to_string() == self.target.to_string() {
                        String::new()
                    } else {
                        format!("{addr}: ")
                    };
                    last = if e.kind() == io::ErrorKind::TimedOut {
                        format!("{which}no answer within {} s (timeout)", limit.as_secs())
                    } else {
                        format!("{which}{e}")
                    };
                }
            }
        }
        self.fail_connect(last);
        None
    }

    fn fail_connect(&mut self, detail: String) {
        let target = self.target.to_string();
        self.session
            .handle_connect_failed(Instant::now(), SessionError::Connect { target, detail });
    }

    /// Runs a TLS handshake over the connection's TCP stream.
    fn handshake(
        &mut self,
        conn: Conn,
        limit: Duration,
        stage: Stage,
    ) -> Result<(Conn, tls::TlsInfo), SessionError> {
        let Conn::Plain(mut tcp) = conn else {
            return Err(SessionError::Tls {
                stage,
                detail: "TLS is already active".into(),
                unknown_issuer: false,
            });
        };
        let tls_err = |detail: String| SessionError::Tls {
            stage,
            detail,
            unknown_issuer: false,
        };
        let config = match &self.setup {
            Some(setup) => setup.config.clone(),
            None => return Err(tls_err("TLS was not configured".into())),
        };
        let name = ServerName::try_from(self.target.host.clone()).map_err(|e| {
            tls_err(format!(
                "{} cannot be used as a TLS server name: {e}",
                self.target.host
            ))
        })?;
        let mut client = ClientConnection::new(config, name).map_err(|e| tls_err(e.to_string()))?;
        let _ = tcp.set_read_timeout(Some(limit));
        let _ = tcp.set_write_timeout(Some(limit));
        self.session.note(Instant::now(), "starting TLS handshake");
        self.forward_events();
        while client.is_handshaking() {
            if let Err(e) = client.complete_io(&mut tcp) {
                if self.cancel.is_cancelled() {
                    return Err(SessionError::Cancelled { stage });
                }
                let rustls_error = e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>());
                let unknown_issuer = matches!(
                    rustls_error,
                    Some(rustls::Error::InvalidCertificate(
                        rustls::CertificateError::UnknownIssuer
                    ))
                );
                let detail = match rustls_error {
                    Some(tls_error) => tls::explain(tls_error, &self.target.host),
                    None if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                    {
                        format!(
                            "the handshake did not finish within {} s (timeout)",
                            limit.as_secs()
                        )
                    }
                    None if e.kind() == io::ErrorKind::UnexpectedEof => {
                        "the server closed the connection during the handshake".into()
                    }
                    None => e.to_string(),
                };
                if let Some((chain, verification)) = self
                    .setup
                    .as_ref()
                    .and_then(ClientSetup::certificate_report)
                {
                    if let Some(leaf) = chain.first() {
                        self.session.note(
                            Instant::now(),
                            format!(
                                "server certificate: {} issued by {}",
                                leaf.subject, leaf.issuer
                            ),
                        );
                    }
                    self.session.handle_tls_attempt(tls::TlsInfo {
                        version: "(handshake failed)".into(),
                        cipher: String::new(),
                        key_exchange: None,
                        server_name: self.target.host.clone(),
                        verification,
                        chain,
                    });
                }
                return Err(SessionError::Tls {
                    stage,
                    detail,
                    unknown_issuer,
                });
            }
        }
        let info = match &self.setup {
            Some(setup) => setup.info(&client, &self.target.host),
            None => return Err(tls_err("TLS was not configured".into())),
        };
        Ok((Conn::Tls(Box::new(StreamOwned::new(client, tcp))), info))
    }

    /// Forwards queued events; returns the end of the session if it came.
    fn forward_events(&mut self) -> Option<Event> {
        while let Some(event) = self.session.poll_event() {
            (self.on_event)(&event);
            if matches!(
                event,
                Event::Finished(..) | Event::StartTls | Event::NeedBody
            ) {
                return Some(event);
            }
        }
        None
    }

    fn drain_until_finished(&mut self) -> Option<(Report, Result<(), SessionError>)> {
        loop {
            match self.forward_events()? {
                Event::Finished(report, result) => return Some((*report, result)),
                _ => continue,
            }
        }
    }

    fn talk(
        &mut self,
        mut conn: Conn,
        body: Option<&dyn BodySource>,
    ) -> Option<(Report, Result<(), SessionError>)> {
        let mut out = Vec::with_capacity(64 * 1024);
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            // 1. Hand over what the session produced.
            match self.forward_events() {
                Some(Event::Finished(report, result)) => {
                    self.close(conn);
                    return Some((*report, result));
                }
                Some(Event::StartTls) => {
                    let limit = self.session.config().timeouts.command;
                    match self.handshake(conn, limit, Stage::Tls) {
                        Ok((c, info)) => {
                            conn = c;
                            let _ = conn
                                .tcp()
                                .set_write_timeout(Some(self.session.config().timeouts.data_block));
                            self.session.handle_tls_established(Instant::now(), info);
                        }
                        Err(e) => {
                            self.session.handle_connect_failed(Instant::now(), e);
                            return self.drain_until_finished();
                        }
                    }
                    continue;
                }
                Some(Event::NeedBody) => {
                    self.flush(&mut conn, &mut out);
                    self.stream_body(&mut conn, &mut out, body);
                    continue;
                }
                Some(_) => continue,
                None => {}
            }
            // 2. Send what is queued.
            if !self.flush(&mut conn, &mut out) {
                continue;
            }
            if self.cancel.is_cancelled() {
                self.session.cancel(Instant::now());
                continue;
            }
            // 3. Wait for the server, at most until the session's deadline.
            let now = Instant::now();
            let wait = self
                .session
                .poll_timeout()
                .map(|d| d.saturating_duration_since(now))
                .unwrap_or(Duration::from_secs(1))
                .max(Duration::from_millis(1));
            let _ = conn.tcp().set_read_timeout(Some(wait));
            let read = conn.read(&mut buf);
            if self.cancel.is_cancelled() {
                // Cancelling shuts the socket down, which a read reports as
                // end of stream or an error: neither is the server's doing.
                self.session.cancel(Instant::now());
                continue;
            }
            match read {
                Ok(0) => self.session.handle_eof(Instant::now()),
                Ok(n) => self.session.handle_input(Instant::now(), &buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    self.session.handle_timeout(Instant::now());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    self.session.handle_eof(Instant::now())
                }
                Err(e) => self.session.handle_io_error(Instant::now(), e.to_string()),
            }
        }
    }

    /// Writes what the session queued. Returns false if writing failed (the
    /// session has been told).
    fn flush(&mut self, conn: &mut Conn, out: &mut Vec<u8>) -> bool {
        if !self.session.poll_transmit(out) {
            return true;
        }
        let result = conn.write_all(out).and_then(|()| conn.flush());
        out.clear();
        match result {
            Ok(()) => true,
            Err(_) if self.cancel.is_cancelled() => {
                self.session.cancel(Instant::now());
                false
            }
            Err(e) => {
                let detail = if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) {
                    "the server stopped reading (write timeout)".to_string()
                } else {
                    e.to_string()
                };
                self.session.handle_io_error(Instant::now(), detail);
                false
            }
        }
    }

    /// Streams the message through the session in fixed-size chunks, so
    /// memory stays flat whatever the message size.
    fn stream_body(&mut self, conn: &mut Conn, out: &mut Vec<u8>, body: Option<&dyn BodySource>) {
        let Some(body) = body else {
            return self
                .session
                .body_failed(Instant::now(), "there is no message to send".into());
        };
        let mut reader = match body.open() {
            Ok(r) => r,
            Err(e) => return self.session.body_failed(Instant::now(), e.to_string()),
        };
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            if self.cancel.is_cancelled() {
                return self.session.cancel(Instant::now());
            }
            let n = match reader.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.session.body_failed(Instant::now(), e.to_string()),
            };
            self.session.push_body(Instant::now(), &chunk[..n]);
            self.forward_events();
            if !self.flush(conn, out) {
                return;
            }
        }
        self.session.end_body(Instant::now());
    }

    fn close(&mut self, conn: Conn) {
        if let Conn::Tls(mut stream) = conn {
            stream.conn.send_close_notify();
            let _ = stream.conn.complete_io(&mut stream.sock);
        }
    }
}

/// Runs a blocking call (DNS, connect) on a helper thread and waits for it
/// in short steps, so a cancel is honoured at once; a call abandoned that
/// way finishes on its own within its time limit. `None` means cancelled.
fn cancellable<T: Send + 'static>(
    cancel: &CancelToken,
    call: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("postscope-connect".into())
        .spawn(move || {
            let _ = tx.send(call());
        });
    if spawned.is_err() {
        return None;
    }
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(value) => return Some(value),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) if !cancel.is_cancelled() => {}
            Err(_) => return None,
        }
    }
}

fn unfinished() -> (Report, Result<(), SessionError>) {
    (
        Report::default(),
        Err(SessionError::ConnectionLost {
            stage: Stage::Connect,
            detail: Some("the session ended without a result".into()),
        }),
    )
}
