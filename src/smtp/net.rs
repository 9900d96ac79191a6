//! The words the drivers share: where to connect, the message to send,
//! cancelling from another thread, and a stream that is plain or TLS.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use std::ops::{Deref, DerefMut};

use rustls::{ClientConnection, ConnectionCommon, SideData, StreamOwned};

/// Where to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// A host name or an IP address (IPv6 without brackets).
    pub host: String,
    /// The TCP port.
    pub port: u16,
}

impl Target {
    /// Parses `HOST`, `HOST:PORT`, `[V6]:PORT`, `[V6]` or a bare IPv6
    /// address; the port defaults to 587 (submission). The error says what
    /// is wrong in a few words.
    pub fn parse(s: &str) -> Result<Target, &'static str> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty");
        }
        if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("a host name has no spaces, line breaks or control characters");
        }
        let port = |p: &str| {
            p.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or("the port must be 1-65535")
        };
        let target = |host: &str, port: u16| Target {
            host: host.to_owned(),
            port,
        };
        if let Some(rest) = s.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or("missing ]")?;
            return match after.strip_prefix(':') {
                Some(p) => Ok(target(host, port(p)?)),
                None if after.is_empty() => Ok(target(host, 587)),
                None => Err("unexpected text after ]"),
            };
        }
        if s.parse::<std::net::Ipv6Addr>().is_ok() {
            return Ok(target(s, 587));
        }
        match s.rsplit_once(':') {
            Some((host, p)) if !host.is_empty() => Ok(target(host, port(p)?)),
            Some(_) => Err("the host is missing"),
            None => Ok(target(s, 587)),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// The message to send, readable as many times as needed (a second
/// transaction after `452 too many recipients` reads it again).
pub trait BodySource {
    /// The size in bytes, if known before reading (for SIZE and progress).
    fn size(&self) -> Option<u64>;
    /// True if the message has bytes above 127 (for BODY=8BITMIME).
    fn eight_bit(&self) -> bool;
    /// A fresh reader from the first byte.
    fn open(&self) -> io::Result<Box<dyn Read + '_>>;
}

/// A message already in memory.
impl BodySource for Vec<u8> {
    fn size(&self) -> Option<u64> {
        Some(self.len() as u64)
    }
    fn eight_bit(&self) -> bool {
        !self.is_ascii()
    }
    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(self.as_slice()))
    }
}

/// Cancels a running session from another thread (Ctrl-C, a Cancel button).
/// Shuts the socket down so a blocked read or write returns at once.
#[derive(Debug, Clone, Default)]
pub struct CancelToken {
    inner: Arc<CancelInner>,
}

#[derive(Debug, Default)]
struct CancelInner {
    cancelled: AtomicBool,
    socket: Mutex<Option<TcpStream>>,
}

impl CancelToken {
    /// Asks the session to stop.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        if let Ok(guard) = self.inner.socket.lock()
            && let Some(socket) = guard.as_ref()
        {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }

    /// True once [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    pub(super) fn attach(&self, socket: &TcpStream) {
        if let Ok(mut guard) = self.inner.socket.lock() {
            *guard = socket.try_clone().ok();
        }
        if self.is_cancelled() {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}

/// A connection, plain or inside TLS: the client's (the drivers'), and
/// with `C = ServerConnection` the sandbox's.
pub(crate) enum Conn<C = ClientConnection> {
    Plain(TcpStream),
    Tls(Box<StreamOwned<C, TcpStream>>),
}

impl<C> Conn<C> {
    /// The TCP socket under it, for timeouts and shutdown.
    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => &s.sock,
        }
    }
}

impl<C, S> Conn<C>
where
    C: DerefMut + Deref<Target = ConnectionCommon<S>>,
    S: SideData,
{
    /// Writes all of `bytes` and flushes them.
    pub(crate) fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.write_all(bytes)?;
        self.flush()
    }

    /// Ends the connection: TLS's close_notify first, when inside TLS.
    pub(crate) fn close(self) {
        match self {
            Conn::Plain(tcp) => {
                let _ = tcp.shutdown(Shutdown::Both);
            }
            Conn::Tls(mut s) => {
                s.conn.send_close_notify();
                let _ = s.conn.complete_io(&mut s.sock);
                let _ = s.sock.shutdown(Shutdown::Both);
            }
        }
    }
}

impl<C, S> Read for Conn<C>
where
    C: DerefMut + Deref<Target = ConnectionCommon<S>>,
    S: SideData,
{
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl<C, S> Write for Conn<C>
where
    C: DerefMut + Deref<Target = ConnectionCommon<S>>,
    S: SideData,
{
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}
