//! The final dot held back: a plain TCP stream under lettre's SMTP connection that lets a
//! transaction's commands and whole message through, but holds the terminating `.` of its
//! DATA until the ledger's commit marking the recipient `sending` is durable.
//!
//! A server delivers nothing before that dot: if veille dies while it is held, the server
//! drops the unfinished transaction. So the message can travel while the commit is synced,
//! and a connection's round costs max(commit, transmission) plus one round trip, not their
//! sum. lettre writes every byte (its `send`, or `pipeline::send`): this stream only
//! recognises the terminator `\r\n.\r\n`, which transparency (RFC 5321 §4.5.2) keeps out of
//! the message itself, and waits before writing its dot. Under TLS the bytes are ciphertext:
//! no gate there, and the transaction waits for the commit as a whole (`SmtpSession`).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Where the terminator stands for the stream's writes; shared with the sender.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    state: Mutex<GateState>,
}

#[derive(Debug, Default)]
struct GateState {
    /// A transaction is under way whose dot must wait for `release`.
    armed: bool,
    released: bool,
    /// The armed transaction's final dot was written: from then on the server may deliver.
    dot_out: bool,
    /// The last bytes written, so that a terminator split across writes is still seen.
    tail: Vec<u8>,
    waiting: Option<Waker>,
}

const TERMINATOR: &[u8] = b"\r\n.\r\n";

/// The terminator's searcher, built once: each write of every message is searched.
static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(TERMINATOR));

impl Gate {
    /// The next terminator waits for `release`.
    pub(crate) fn arm(&self) {
        let mut state = self.lock();
        state.armed = true;
        state.released = false;
        state.dot_out = false;
    }

    /// Whether the armed transaction's final dot has been written; until then a failure
    /// cannot have been preceded by a delivery.
    pub(crate) fn dot_out(&self) -> bool {
        self.lock().dot_out
    }

    /// Lets the held dot (and what follows) go.
    pub(crate) fn release(&self) {
        let mut state = self.lock();
        state.released = true;
        if let Some(waker) = state.waiting.take() {
            waker.wake();
        }
    }

    /// The transaction is over: writes pass freely again.
    pub(crate) fn disarm(&self) {
        let mut state = self.lock();
        state.armed = false;
        state.released = false;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How many bytes of `buf` may be written now: all of them, or those before the
/// terminator's dot (0: wait). `tail` is what was written just before (at most the
/// terminator's length less one: `poll_write` keeps no more). The message itself is searched
/// in place: no copy of its 9 KiB per write.
fn passable(tail: &[u8], buf: &[u8]) -> usize {
    const EDGE: usize = TERMINATOR.len() - 1;
    // A terminator that starts in `tail` ends within the first bytes of `buf`.
    let from_tail = &tail[tail.len().saturating_sub(EDGE)..];
    let mut edge = [0u8; 2 * EDGE];
    edge[..from_tail.len()].copy_from_slice(from_tail);
    let into_buf = buf.len().min(EDGE);
    edge[from_tail.len()..from_tail.len() + into_buf].copy_from_slice(&buf[..into_buf]);
    let at = match memchr::memmem::find(&edge[..from_tail.len() + into_buf], TERMINATOR) {
        Some(p) => p as isize - from_tail.len() as isize,
        None => match FINDER.find(buf) {
            Some(p) => p as isize,
            None => return buf.len(),
        },
    };
    // The dot is the terminator's third byte; one already written cannot be held.
    usize::try_from(at + 2).unwrap_or(0).min(buf.len())
}

/// A TCP stream whose writes go through a `Gate`.
#[derive(Debug)]
pub(crate) struct HeldStream {
    inner: TcpStream,
    gate: Arc<Gate>,
}

impl HeldStream {
    pub(crate) fn new(inner: TcpStream, gate: Arc<Gate>) -> Self {
        HeldStream { inner, gate }
    }
}

impl AsyncRead for HeldStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for HeldStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let gate = self.gate.clone();
        let allowed = {
            let mut state = gate.lock();
            if !state.armed || state.released {
                buf.len()
            } else {
                let allowed = passable(&state.tail, buf);
                if allowed == 0 {
                    state.waiting = Some(cx.waker().clone());
                    return Poll::Pending;
                }
                allowed
            }
        };
        let written = std::task::ready!(Pin::new(&mut self.inner).poll_write(cx, &buf[..allowed]));
        if let Ok(n) = written {
            let mut state = gate.lock();
            if state.armed && passable(&state.tail, &buf[..n]) < n {
                state.dot_out = true;
            }
            state.tail.extend_from_slice(&buf[..n]);
            let excess = state.tail.len().saturating_sub(TERMINATOR.len() - 1);
            state.tail.drain(..excess);
        }
        Poll::Ready(written)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl lettre::transport::smtp::client::AsyncTokioStream for HeldStream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The plain reading of `passable`: the first terminator of `tail` + `buf`.
    fn passable_by_copy(tail: &[u8], buf: &[u8]) -> usize {
        let mut seen: Vec<u8> = tail.to_vec();
        let before = seen.len();
        seen.extend_from_slice(buf);
        match seen.windows(TERMINATOR.len()).position(|w| w == TERMINATOR) {
            Some(at) => (at + 2).saturating_sub(before).min(buf.len()),
            None => buf.len(),
        }
    }

    proptest::proptest! {
        #[test]
        fn passable_agrees_with_the_plain_reading(
            tail in proptest::collection::vec(proptest::sample::select(b"\r\n.a".to_vec()), 0..5),
            buf in proptest::collection::vec(proptest::sample::select(b"\r\n.a".to_vec()), 0..40),
        ) {
            proptest::prop_assert_eq!(passable(&tail, &buf), passable_by_copy(&tail, &buf));
        }
    }

    #[test]
    fn only_the_terminators_dot_is_held() {
        assert_eq!(passable(b"", b"MAIL FROM:<a@b.fr>\r\n"), 20);
        assert_eq!(passable(b"", b"corps\r\n..ligne\r\n.\r\n"), 16);
        // Written by lettre in two writes: the message, then the terminator alone.
        assert_eq!(passable(b"fin", b"\r\n.\r\n"), 2);
        // Once the bytes before the dot are through, the dot waits.
        assert_eq!(passable(b"n\r\n", b".\r\n"), 0);
        // A dot-stuffed line is no terminator.
        assert_eq!(passable(b"a\r\n", b"..\r\nb"), 5);
    }

    /// The message reaches the server at once, its final dot only after `release`.
    #[tokio::test]
    async fn the_dot_waits_for_the_release() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let gate = Arc::new(Gate::default());
        let mut stream = HeldStream::new(TcpStream::connect(address).await.unwrap(), gate.clone());
        let (mut server, _) = listener.accept().await.unwrap();
        gate.arm();
        let writer = tokio::spawn(async move {
            stream.write_all(b"DATA\r\nBonjour\r\n.\r\n").await.unwrap();
            stream.flush().await.unwrap();
            stream
        });
        let mut seen = vec![0u8; 64];
        let n = server.read(&mut seen).await.unwrap();
        assert_eq!(&seen[..n], b"DATA\r\nBonjour\r\n");
        let more = tokio::time::timeout(
            std::time::Duration::from_millis(200),
            server.read(&mut seen),
        )
        .await;
        assert!(more.is_err(), "le point final est parti avant la levée");
        assert!(!writer.is_finished());
        assert!(!gate.dot_out());
        gate.release();
        let mut stream = writer.await.unwrap();
        let n = server.read(&mut seen).await.unwrap();
        assert_eq!(&seen[..n], b".\r\n");
        assert!(gate.dot_out());
        // The next transaction starts with its dot not yet out.
        gate.arm();
        assert!(!gate.dot_out());
        // Disarmed, the next transaction's bytes pass whole.
        gate.disarm();
        stream.write_all(b"x\r\n.\r\n").await.unwrap();
        let n = server.read(&mut seen).await.unwrap();
        assert_eq!(&seen[..n], b"x\r\n.\r\n");
    }
}
