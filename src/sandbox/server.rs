//! The sockets and threads: one thread accepts connections, one thread per
//! connection runs a [`Session`] over plain TCP or, after STARTTLS, rustls.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime};

use rustls::{ServerConfig, ServerConnection, StreamOwned};

use crate::smtp::net::Conn;
use crate::smtp::reply::{EnhancedCode, Reply, ReplyCode};

use super::inbox::{Captured, Inbox, Summary};
use super::session::{Action, Delivery, Limits, Session};
use super::tls::Certs;
use super::{
    CA_FILE_NAME, MAX_CONNECTIONS, MAX_LINE, MAX_RECIPIENTS, READ_TIMEOUT, SandboxConfig,
    SandboxError, file_timestamp,
};

/// How often the accept loop looks at the stop flag.
const POLL: Duration = Duration::from_millis(50);

/// A running sandbox server. Stopped by [`Sandbox::stop`] or on drop.
pub struct Sandbox {
    config: SandboxConfig,
    ca_der: Vec<u8>,
    ca_pem: String,
    inbox: Inbox,
    stop: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
}

/// What every connection thread shares.
struct Shared {
    inbox: Inbox,
    tls: Arc<ServerConfig>,
    limits: Limits,
    config: SandboxConfig,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("listen", &self.config.listen)
            .field("inbox", &self.inbox)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Makes the certificates, writes the CA into the save directory (if
    /// any), binds the address and starts accepting in a thread of its
    /// own. Returns at once.
    pub fn start(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        let certs = Certs::generate().map_err(SandboxError::Certificate)?;
        if let Some(dir) = &config.save_dir {
            std::fs::create_dir_all(dir).map_err(|source| SandboxError::SaveDir {
                path: dir.clone(),
                source,
            })?;
            let path = dir.join(CA_FILE_NAME);
            crate::store::write_atomically(&path, certs.ca_pem.as_bytes())
                .map_err(|source| SandboxError::SaveDir { path, source })?;
        }
        let bind = |source| SandboxError::Bind {
            addr: config.listen,
            source,
        };
        let listener = TcpListener::bind(config.listen).map_err(bind)?;
        listener.set_nonblocking(true).map_err(bind)?;
        let listen = listener.local_addr().map_err(bind)?;
        let config = SandboxConfig { listen, ..config };

        let inbox = Inbox::new(config.max_messages, config.max_bytes);
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            inbox: inbox.clone(),
            tls: certs.server,
            limits: Limits {
                max_size: config.max_message_size,
                max_recipients: MAX_RECIPIENTS,
                max_line: MAX_LINE,
            },
            config: config.clone(),
        });
        let accept_thread = {
            let stop = Arc::clone(&stop);
            thread::Builder::new()
                .name("sandbox-accept".into())
                .spawn(move || accept_loop(listener, shared, stop))
                .map_err(SandboxError::Thread)?
        };
        Ok(Sandbox {
            config,
            ca_der: certs.ca_der,
            ca_pem: certs.ca_pem,
            inbox,
            stop,
            accept_thread: Some(accept_thread),
        })
    }

    /// The address it listens on (with the real port when port 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.config.listen
    }

    /// The configuration it runs with (`listen` holds the real port).
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// The CA certificate (DER) that signed the server's certificate: put
    /// it in [`crate::smtp::TlsOptions::extra_roots`] to trust the sandbox.
    pub fn ca_der(&self) -> Vec<u8> {
        self.ca_der.clone()
    }

    /// The same CA certificate as PEM, for other programs.
    pub fn ca_pem(&self) -> String {
        self.ca_pem.clone()
    }

    /// A handle on the captured messages.
    pub fn inbox(&self) -> Inbox {
        self.inbox.clone()
    }

    /// Stops accepting, closes every live connection and waits for every
    /// thread to end. Dropping the sandbox does the same.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(handle) = self.accept_thread.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// One live connection: its thread, and a clone of its socket to shut it
/// down from the accept thread.
struct Live {
    handle: JoinHandle<()>,
    socket: TcpStream,
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>, stop: Arc<AtomicBool>) {
    let mut live: Vec<Live> = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let (done, running): (Vec<Live>, Vec<Live>) =
            live.into_iter().partition(|c| c.handle.is_finished());
        for c in done {
            let _ = c.handle.join();
        }
        live = running;
        match listener.accept() {
            Ok((stream, peer)) => {
                // Some systems hand out accepted sockets non-blocking like the listener.
                let _ = stream.set_nonblocking(false);
                if live.len() >= MAX_CONNECTIONS {
                    refuse(stream, EnhancedCode::SECURITY_TEMPORARY, BUSY);
                    continue;
                }
                let Ok(socket) = stream.try_clone() else {
                    refuse(stream, EnhancedCode::SYSTEM_TEMPORARY, CANNOT_SERVE);
                    continue;
                };
                let shared = Arc::clone(&shared);
                match thread::Builder::new()
                    .name(format!("sandbox-{peer}"))
                    .spawn(move || serve(stream, peer, &shared))
                {
                    Ok(handle) => live.push(Live { handle, socket }),
                    Err(_) => refuse(socket, EnhancedCode::SYSTEM_TEMPORARY, CANNOT_SERVE),
                }
            }
            // WouldBlock: nobody is waiting. Anything else (out of file
            // descriptors, a connection reset before accept): wait and retry.
            Err(_) => thread::sleep(POLL),
        }
    }
    drop(listener);
    for c in &live {
        let _ = c.socket.shutdown(Shutdown::Both);
    }
    for c in live {
        let _ = c.handle.join();
    }
}

const BUSY: &str = "Too many connections, try again later";
const CANNOT_SERVE: &str = "Cannot serve this connection";

/// Turns a connection away with a 421 (RFC 5321 §3.1) and closes it.
fn refuse(mut stream: TcpStream, code: EnhancedCode, text: &str) {
    let mut reply = Vec::new();
    Reply::new(ReplyCode::UNAVAILABLE, Some(code), text).encode(&mut reply);
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let _ = stream.write_all(&reply);
    let _ = stream.shutdown(Shutdown::Both);
}

/// The connection, before and after STARTTLS: the client's stream type,
/// on the server side.
type Stream = Conn<ServerConnection>;

/// Runs the server side of the TLS handshake on the TCP connection.
fn start_tls(stream: Stream, config: &Arc<ServerConfig>) -> io::Result<Stream> {
    let Conn::Plain(mut tcp) = stream else {
        return Err(io::Error::other("TLS is already active"));
    };
    let mut tls = ServerConnection::new(Arc::clone(config)).map_err(io::Error::other)?;
    while tls.is_handshaking() {
        tls.complete_io(&mut tcp)?;
    }
    Ok(Conn::Tls(Box::new(StreamOwned::new(tls, tcp))))
}

/// Runs one connection to its end.
fn serve(tcp: TcpStream, peer: SocketAddr, shared: &Shared) {
    let _ = tcp.set_read_timeout(Some(READ_TIMEOUT));
    let _ = tcp.set_write_timeout(Some(READ_TIMEOUT));
    let _ = tcp.set_nodelay(true);
    let mut session = Session::new(shared.limits);
    let mut stream: Stream = Conn::Plain(tcp);
    if stream.send(&session.take_output()).is_err() {
        return stream.close();
    }
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                session.timed_out();
                let _ = stream.send(&session.take_output());
                break;
            }
            Err(_) => break,
        };
        session.input(&buf[..n]);
        let action = session.process(&mut |d| deliver(shared, peer, d));
        if stream.send(&session.take_output()).is_err() {
            break;
        }
        match action {
            Action::Continue => {}
            Action::Close => break,
            Action::StartTls => match start_tls(stream, &shared.tls) {
                Ok(tls) => {
                    stream = tls;
                    session.tls_started();
                }
                // The handshake failed: nothing more can be said in clear text.
                Err(_) => return,
            },
        }
    }
    stream.close();
}

/// Stores a finished message: the save directory first (if any), then the
/// inbox. Returns its id.
fn deliver(shared: &Shared, peer: SocketAddr, d: Delivery) -> Result<u64, String> {
    let id = shared.inbox.next_id();
    let received = SystemTime::now();
    if let Some(dir) = &shared.config.save_dir {
        let path = dir.join(format!("{}-{id:06}.eml", file_timestamp(received)));
        crate::store::write_atomically(&path, &d.raw)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let summary = Summary::parse(&d.raw);
    let findings = crate::message::lint::lint(&d.raw);
    shared.inbox.push(Captured {
        id,
        received,
        peer,
        tls: d.tls,
        auth_user: d.auth_user,
        mail_from: d.mail_from,
        rcpt_to: d.rcpt_to,
        dsn: d.dsn,
        raw: d.raw,
        summary,
        findings,
    });
    Ok(id)
}
