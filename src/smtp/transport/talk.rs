//! The driver's main loop, once connected: hand over the protocol's
//! events, write what it queued, then wait — on the socket until the
//! deadline, or, for a protocol that takes typed commands, on one channel
//! that a watcher thread wakes when the server sends something.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender, TryRecvError, sync_channel};
use std::time::{Duration, Instant};

use super::{Driver, Protocol, Step};
use crate::smtp::net::{BodySource, Conn};

/// What wakes a driver that also waits on a person.
pub(crate) enum Input<C> {
    /// Something typed.
    Command(C),
    /// The socket has bytes to read (or has closed).
    Readable,
}

/// The channel a driver takes commands and wake-ups from.
pub(crate) struct Inputs<C> {
    rx: Receiver<Input<C>>,
    /// For the watcher thread's wake-ups.
    tx: Sender<Input<C>>,
    /// Lets the watcher peek again once the driver has read.
    ack: Option<SyncSender<()>>,
}

impl<C: Send + 'static> Inputs<C> {
    /// A channel: commands go into the sender, which the caller keeps.
    pub(crate) fn channel() -> (Sender<Input<C>>, Inputs<C>) {
        let (tx, rx) = std::sync::mpsc::channel();
        (tx.clone(), Inputs { rx, tx, ack: None })
    }

    /// Starts the watcher on the connection's socket, once.
    fn watch(&mut self, tcp: &TcpStream) {
        if self.ack.is_some() {
            return;
        }
        let Ok(tcp) = tcp.try_clone() else {
            return;
        };
        // The watcher waits as long as it takes (a handshake may have set
        // a limit on the shared socket).
        let _ = tcp.set_read_timeout(None);
        let (ack, acks) = sync_channel(1);
        let wake = self.tx.clone();
        let spawned = std::thread::Builder::new()
            .name("postscope-watch".into())
            .spawn(move || watcher(tcp, wake, acks));
        if spawned.is_ok() {
            self.ack = Some(ack);
        }
    }
}

/// Blocks in `peek` until the server sends something (or the connection
/// ends), says so, and waits until the driver has read it. It ends when
/// the connection does or the driver is gone.
fn watcher<C>(tcp: TcpStream, wake: Sender<Input<C>>, acks: Receiver<()>) {
    let mut byte = [0u8; 1];
    loop {
        match tcp.peek(&mut byte) {
            // The driver set a read timeout for a handshake: peek again,
            // unless the driver is gone.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if matches!(acks.try_recv(), Err(TryRecvError::Disconnected)) {
                    return;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Ok(n) => {
                if wake.send(Input::Readable).is_err() || n == 0 || acks.recv().is_err() {
                    return;
                }
            }
            // The driver reads the error itself.
            Err(_) => {
                let _ = wake.send(Input::Readable);
                return;
            }
        }
    }
}

impl<P: Protocol> Driver<'_, '_, P>
where
    P::Command: Send + 'static,
{
    pub(super) fn talk(
        &mut self,
        mut conn: Conn,
        body: Option<&dyn BodySource>,
    ) -> Option<P::Event> {
        let mut out = Vec::with_capacity(64 * 1024);
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            // 1. Hand over what the protocol produced.
            match self.forward_events() {
                Some(Step::Finished) => {
                    self.close(conn);
                    return self.last.take();
                }
                Some(Step::StartTls) => {
                    let limit = self.proto.handshake_timeout();
                    match self.handshake(conn, limit, crate::smtp::error::Stage::Tls) {
                        Ok((c, info)) => {
                            conn = c;
                            let _ = conn
                                .tcp()
                                .set_write_timeout(Some(self.proto.write_timeout()));
                            let _ = conn.tcp().set_read_timeout(None);
                            self.proto.handle_tls_established(Instant::now(), info);
                            // The handshake may have read what came right after it.
                            if self.inputs.is_some() {
                                self.read_available(&mut conn, &mut buf);
                            }
                        }
                        Err(e) => {
                            self.proto.handle_connect_failed(Instant::now(), e);
                            return self.drain_until_finished();
                        }
                    }
                    continue;
                }
                Some(Step::NeedBody) => {
                    self.flush(&mut conn, &mut out);
                    self.stream_body(&mut conn, &mut out, body);
                    continue;
                }
                Some(Step::Pass) => continue,
                None => {}
            }
            // 2. Send what is queued.
            if !self.flush(&mut conn, &mut out) {
                continue;
            }
            if self.cancel.is_cancelled() {
                self.proto.cancel(Instant::now());
                continue;
            }
            // 3. Wait, at most until the protocol's deadline.
            if self.inputs.is_some() {
                self.wait_for_input(&mut conn, &mut buf);
            } else {
                self.wait_for_server(&mut conn, &mut buf);
            }
        }
    }

    /// Blocks in `read` until the server sends something or the deadline.
    fn wait_for_server(&mut self, conn: &mut Conn, buf: &mut [u8]) {
        let now = Instant::now();
        let wait = self
            .proto
            .poll_timeout()
            .map(|d| d.saturating_duration_since(now))
            .unwrap_or(Duration::from_secs(1))
            .max(Duration::from_millis(1));
        let _ = conn.tcp().set_read_timeout(Some(wait));
        let read = conn.read(buf);
        if self.cancel.is_cancelled() {
            // Cancelling shuts the socket down, which a read reports as
            // end of stream or an error: neither is the server's doing.
            self.proto.cancel(Instant::now());
            return;
        }
        match read {
            Ok(0) => self.proto.handle_eof(Instant::now()),
            Ok(n) => self.proto.handle_input(Instant::now(), &buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                self.proto.handle_timeout(Instant::now());
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                self.proto.handle_eof(Instant::now())
            }
            Err(e) => self.proto.handle_io_error(Instant::now(), e.to_string()),
        }
    }

    /// Blocks on the input channel: a typed command, the watcher saying the
    /// server sent something, or the deadline.
    fn wait_for_input(&mut self, conn: &mut Conn, buf: &mut [u8]) {
        let Some(inputs) = self.inputs.as_mut() else {
            return;
        };
        inputs.watch(conn.tcp());
        let received = match self.proto.poll_timeout() {
            Some(deadline) => inputs
                .rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now())),
            None => inputs.rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match received {
            Ok(Input::Command(command)) => self.proto.handle_command(Instant::now(), command),
            Ok(Input::Readable) => {
                self.read_available(conn, buf);
                if self.cancel.is_cancelled() {
                    self.proto.cancel(Instant::now());
                }
                if let Some(ack) = self.inputs.as_ref().and_then(|i| i.ack.as_ref()) {
                    let _ = ack.try_send(());
                }
            }
            Err(RecvTimeoutError::Timeout) => self.proto.handle_timeout(Instant::now()),
            // Nobody can type any more: the window closed the console.
            Err(RecvTimeoutError::Disconnected) => self.proto.cancel(Instant::now()),
        }
    }

    /// Reads everything there is now (plaintext that rustls holds
    /// included) without waiting for more.
    fn read_available(&mut self, conn: &mut Conn, buf: &mut [u8]) {
        let _ = conn.tcp().set_nonblocking(true);
        loop {
            match conn.read(buf) {
                Ok(0) => {
                    self.proto.handle_eof(Instant::now());
                    break;
                }
                Ok(n) => self.proto.handle_input(Instant::now(), &buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    self.proto.handle_eof(Instant::now());
                    break;
                }
                Err(e) => {
                    self.proto.handle_io_error(Instant::now(), e.to_string());
                    break;
                }
            }
        }
        let _ = conn.tcp().set_nonblocking(false);
    }

    /// Writes what the protocol queued. Returns false if writing failed
    /// (the protocol has been told).
    fn flush(&mut self, conn: &mut Conn, out: &mut Vec<u8>) -> bool {
        if !self.proto.poll_transmit(out) {
            return true;
        }
        let result = conn.write_all(out).and_then(|()| conn.flush());
        out.clear();
        match result {
            Ok(()) => true,
            Err(_) if self.cancel.is_cancelled() => {
                self.proto.cancel(Instant::now());
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
                self.proto.handle_io_error(Instant::now(), detail);
                false
            }
        }
    }

    /// Streams the message through the protocol in fixed-size chunks, so
    /// memory stays flat whatever the message size.
    fn stream_body(&mut self, conn: &mut Conn, out: &mut Vec<u8>, body: Option<&dyn BodySource>) {
        let Some(body) = body else {
            return self
                .proto
                .body_failed(Instant::now(), "there is no message to send".into());
        };
        let mut reader = match body.open() {
            Ok(r) => r,
            Err(e) => return self.proto.body_failed(Instant::now(), e.to_string()),
        };
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            if self.cancel.is_cancelled() {
                return self.proto.cancel(Instant::now());
            }
            let n = match reader.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.proto.body_failed(Instant::now(), e.to_string()),
            };
            self.proto.push_body(Instant::now(), &chunk[..n]);
            self.forward_events();
            if !self.flush(conn, out) {
                return;
            }
        }
        self.proto.end_body(Instant::now());
    }

    /// Ends the connection: close_notify inside TLS, then the socket.
    fn close(&mut self, conn: Conn) {
        conn.close();
    }
}
