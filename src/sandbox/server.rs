//! The sockets and threads: one thread accepts connections, one thread per
//! connection runs a [`Session`] over plain TCP or, after STARTTLS, rustls.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

use rustls::{ServerConfig, ServerConnection, StreamOwned};

use crate::smtp::net::Conn;
use crate::smtp::reply::{EnhancedCode, Reply, ReplyCode};

use super::inbox::{Captured, Inbox, Summary};
use super::saver::Saver;
use super::session::{Action, Delivery, Limits, Session, Waiting};
use super::timers::Timers;
use super::tls::Certs;
use super::{CA_FILE_NAME, MAX_LINE, SandboxConfig, SandboxError, file_timestamp};

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
    started: Instant,
    /// Saves to `config.save_dir`, with a group commit.
    saver: Option<Saver>,
}

impl Shared {
    /// Milliseconds since the sandbox started.
    fn millis(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }
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
            crate::store::create_private_dirs(dir).map_err(|source| SandboxError::SaveDir {
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
                max_recipients: config.max_recipients,
                max_line: MAX_LINE,
            },
            config: config.clone(),
            started: Instant::now(),
            saver: match &config.save_dir {
                Some(_) => Some(Saver::start().map_err(SandboxError::Thread)?),
                None => None,
            },
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

/// What the accept thread and a connection's thread share about it.
#[derive(Default)]
struct Watch {
    /// When the session last completed a command, in ms since the
    /// sandbox started (connecting counts as one).
    last_done: AtomicU64,
    /// The accept thread pushed it out for a newcomer: say so and close.
    evicted: AtomicBool,
    /// A message is coming in: pushed out only when no other session can be.
    in_data: AtomicBool,
}

/// One live connection: its thread, and a clone of its socket to shut it
/// down from the accept thread.
struct Live {
    handle: JoinHandle<()>,
    socket: TcpStream,
    ip: IpAddr,
    watch: Arc<Watch>,
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
                if let Err(why) = make_room(&live, peer.ip(), &shared) {
                    shared
                        .inbox
                        .record(peer, format!("refused: 421 4.7.0 {why}"));
                    refuse(stream, EnhancedCode::SECURITY_TEMPORARY, &why);
                    continue;
                }
                let Ok(socket) = stream.try_clone() else {
                    refuse(stream, EnhancedCode::SYSTEM_TEMPORARY, CANNOT_SERVE);
                    continue;
                };
                let watch = Arc::new(Watch::default());
                watch.last_done.store(shared.millis(), Ordering::Relaxed);
                let (shared, for_thread) = (Arc::clone(&shared), Arc::clone(&watch));
                match thread::Builder::new()
                    .name(format!("sandbox-{peer}"))
                    .spawn(move || serve(stream, peer, &shared, &for_thread))
                {
                    Ok(handle) => live.push(Live {
                        handle,
                        socket,
                        ip: peer.ip(),
                        watch,
                    }),
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

/// Makes room for a connection from `ip` under both caps: at a cap, the
/// session that has gone longest without completing a command (over
/// `evict_after`) is pushed out. Says why when there is no room.
fn make_room(live: &[Live], ip: IpAddr, shared: &Shared) -> Result<(), String> {
    let config = &shared.config;
    let open = |c: &&Live| !c.watch.evicted.load(Ordering::Relaxed);
    let all: Vec<&Live> = live.iter().filter(open).collect();
    let same: Vec<&Live> = all.iter().copied().filter(|c| c.ip == ip).collect();
    let (pool, why) = if same.len() >= config.max_per_client {
        (
            same,
            format!(
                "Too many connections from {ip} ({} open)",
                config.max_per_client
            ),
        )
    } else if all.len() >= config.max_connections {
        (
            all,
            format!("Too many connections ({} open)", config.max_connections),
        )
    } else {
        return Ok(());
    };
    let now = shared.millis();
    let stale = config.evict_after.as_millis() as u64;
    // The stalest, sessions taking a message in last: an upload longer than
    // `evict_after` is not idle, but 64 of them must not lock others out.
    let oldest = pool
        .into_iter()
        .map(|c| (c.watch.last_done.load(Ordering::Relaxed), c))
        .filter(|(at, _)| now.saturating_sub(*at) > stale)
        .min_by_key(|(at, c)| (c.watch.in_data.load(Ordering::Relaxed), *at));
    match oldest {
        Some((_, c)) => {
            c.watch.evicted.store(true, Ordering::Relaxed);
            // Its thread wakes from its read, says 421 and closes.
            let _ = c.socket.shutdown(Shutdown::Read);
            Ok(())
        }
        None => Err(format!(
            "{why}, none idle for over {} s; try again later",
            config.evict_after.as_secs_f32()
        )),
    }
}

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

/// Runs the server side of the TLS handshake on the TCP connection, within
/// `limit`. One socket read a turn, the time left worked out again each
/// time: rustls's `complete_io` would keep reading a handshake trickled a
/// byte every few seconds past any deadline.
fn start_tls(stream: Stream, config: &Arc<ServerConfig>, limit: Duration) -> io::Result<Stream> {
    let Conn::Plain(mut tcp) = stream else {
        return Err(io::Error::other("TLS is already active"));
    };
    let deadline = Instant::now() + limit;
    let too_slow = || {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("not complete within {} s", limit.as_secs_f32()),
        )
    };
    let mut tls = ServerConnection::new(Arc::clone(config)).map_err(io::Error::other)?;
    while tls.is_handshaking() {
        while tls.wants_write() {
            tls.write_tls(&mut tcp)?;
        }
        if !tls.is_handshaking() {
            break;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(too_slow());
        }
        tcp.set_read_timeout(Some(left))?;
        match tls.read_tls(&mut tcp) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(_) => {
                if let Err(e) = tls.process_new_packets() {
                    // Tell the client why (an alert), then give up.
                    let _ = tls.write_tls(&mut tcp);
                    return Err(io::Error::other(e));
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(too_slow());
            }
            Err(e) => return Err(e),
        }
    }
    while tls.wants_write() {
        tls.write_tls(&mut tcp)?;
    }
    Ok(Conn::Tls(Box::new(StreamOwned::new(tls, tcp))))
}

/// One read from the socket and the plaintext it made. Inside TLS, rustls's
/// own `read` goes on reading until a whole record has come, so a client
/// trickling a record byte by byte would never let the clocks be looked
/// at: here one socket read is one turn, and `WouldBlock` means "nothing
/// whole yet".
fn read_once(stream: &mut Stream, buf: &mut [u8]) -> io::Result<usize> {
    let s = match stream {
        Conn::Plain(tcp) => return tcp.read(buf),
        Conn::Tls(s) => s,
    };
    match s.conn.reader().read(buf) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        done => return done,
    }
    if s.conn.read_tls(&mut s.sock)? == 0 {
        return Ok(0);
    }
    let state = s.conn.process_new_packets().map_err(io::Error::other);
    while s.conn.wants_write() {
        s.conn.write_tls(&mut s.sock)?;
    }
    state?;
    s.conn.reader().read(buf)
}

/// Runs one connection to its end.
fn serve(tcp: TcpStream, peer: SocketAddr, shared: &Shared, watch: &Watch) {
    let config = &shared.config;
    // A client that sends but never reads its replies fills the socket:
    // a write waits at most a command's time, so an evicted or timed-out
    // session never lingers for long.
    let _ = tcp.set_write_timeout(Some(config.command_timeout));
    let _ = tcp.set_nodelay(true);
    let mut session = Session::new(shared.limits);
    let mut stream: Stream = Conn::Plain(tcp);
    if stream.send(&session.take_output()).is_err() {
        return stream.close();
    }
    let mut clock = Timers::new(config, Instant::now());
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let now = Instant::now();
        let wait = clock.next_check(now);
        let _ = stream
            .tcp()
            .set_read_timeout(Some(wait.max(Duration::from_millis(1))));
        let read = read_once(&mut stream, &mut buf);
        if watch.evicted.load(Ordering::Relaxed) {
            session.close_with(
                EnhancedCode::SECURITY_TEMPORARY,
                "Too many connections: this idle one is closed for a newcomer",
            );
            let _ = stream.send(&session.take_output());
            log_incidents(shared, peer, &mut session);
            break;
        }
        let n = match read {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                match clock.expired(Instant::now()) {
                    None => continue,
                    Some(why) => {
                        session.close_with(EnhancedCode::TIMED_OUT, &why);
                        let _ = stream.send(&session.take_output());
                        log_incidents(shared, peer, &mut session);
                        break;
                    }
                }
            }
            Err(_) => break,
        };
        let before = session.completed();
        session.input(&buf[..n]);
        let action = session.process(&mut |d| deliver(shared, peer, d));
        let sent = stream.send(&session.take_output());
        log_incidents(shared, peer, &mut session);
        let now = Instant::now();
        if session.completed() != before {
            watch.last_done.store(shared.millis(), Ordering::Relaxed);
        }
        watch
            .in_data
            .store(session.waiting() == Waiting::Data, Ordering::Relaxed);
        clock.update(now, session.waiting(), session.completed() != before, n);
        if sent.is_err() {
            break;
        }
        // A client that trickles data below the floor never lets a read
        // time out: the floor is looked at after each read too.
        if let Some(why) = clock.expired(now) {
            session.close_with(EnhancedCode::TIMED_OUT, &why);
            let _ = stream.send(&session.take_output());
            log_incidents(shared, peer, &mut session);
            break;
        }
        match action {
            Action::Continue => {}
            Action::Close => break,
            Action::StartTls => match start_tls(stream, &shared.tls, config.tls_timeout) {
                Ok(tls) => {
                    stream = tls;
                    session.tls_started();
                    clock = Timers::new(config, Instant::now());
                }
                // The handshake failed: nothing more can be said in clear text.
                Err(e) => {
                    shared
                        .inbox
                        .record(peer, format!("TLS handshake failed: {e}"));
                    return;
                }
            },
        }
    }
    stream.close();
}

/// Records the session's refusals and errors.
fn log_incidents(shared: &Shared, peer: SocketAddr, session: &mut Session) {
    for text in session.take_incidents() {
        shared.inbox.record(peer, text);
    }
}

/// Stores a finished message: the save directory first (if any), then the
/// inbox. Returns its id.
fn deliver(shared: &Shared, peer: SocketAddr, d: Delivery) -> Result<u64, String> {
    let id = shared.inbox.next_id();
    let received = SystemTime::now();
    if let (Some(dir), Some(saver)) = (&shared.config.save_dir, &shared.saver) {
        let path = dir.join(format!("{}-{id:06}.eml", file_timestamp(received)));
        saver.save(&path, &d.raw)?;
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
