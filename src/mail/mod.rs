//! Subscribers and sending: subscriber files (`import`), signed links and the suppression
//! hash (`token`), one message per recipient with DKIM (`message`), and the throttled,
//! crash-safe send driven by the delivery ledger (`send`).

pub mod bounce;
pub(crate) mod clicks;
pub(crate) mod dkim;
pub(crate) mod held;
pub(crate) mod idn;
pub mod import;
pub(crate) mod message;
pub(crate) mod parts;
pub(crate) mod personal;
pub(crate) mod pipeline;
pub(crate) mod send;
pub mod token;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use lettre::Message;
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;

use crate::config::MailSettings;

/// An address as stored: trimmed and lowercased, checked by lettre's parser.
pub(crate) fn normalise_address(text: &str) -> Option<String> {
    let address = text
        .trim()
        .trim_matches(|c| c == '<' || c == '>')
        .to_lowercase();
    if address.is_empty() || address.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    address
        .parse::<lettre::Address>()
        .ok()
        .filter(|a| a.domain().contains('.'))
        .map(|a| a.to_string())
}

/// Why a message did not go: the server's answer, or no server to talk to.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SmtpFailure {
    #[error("{0}")]
    Smtp(#[from] SmtpError),
    #[error("{0}")]
    Connect(String),
    /// The connection broke (reset, end of stream, unreadable reply) once the message had
    /// started to leave: the server may have taken it, so the outcome is unknown.
    #[error("{0}")]
    ReplyLost(SmtpError),
}

impl SmtpFailure {
    /// `error` ended a transaction; `message_started`: the message content (DATA body and
    /// final dot) had started to be written. A server reply keeps its meaning; anything
    /// else after that point may follow a delivery.
    pub(crate) fn during(error: SmtpError, message_started: bool) -> SmtpFailure {
        if message_started && !pipeline::is_code(&error) {
            SmtpFailure::ReplyLost(error)
        } else {
            SmtpFailure::Smtp(error)
        }
    }

    /// The same failure, known to have come before the final dot was written (`held`): the
    /// server has no complete message, so nothing was delivered.
    fn before_the_dot(self) -> SmtpFailure {
        match self {
            SmtpFailure::ReplyLost(error) => SmtpFailure::Smtp(error),
            other => other,
        }
    }

    /// The connection broke after the message started to leave, with no reply from the
    /// server: it may have been delivered.
    pub(crate) fn is_reply_lost(&self) -> bool {
        matches!(self, SmtpFailure::ReplyLost(_))
    }

    /// A 5xx answer: the server refused for good.
    pub(crate) fn is_permanent(&self) -> bool {
        matches!(self, SmtpFailure::Smtp(e) if e.is_permanent())
    }

    /// No answer in time during the exchange: the message may or may not have been taken.
    pub(crate) fn is_timeout(&self) -> bool {
        matches!(self, SmtpFailure::Smtp(e) if e.is_timeout())
    }
}

/// Sends one message outside an edition (a confirmation, a link asked for, an alert) on a
/// connection of its own, within the per-message timeout; `what` names it in the errors.
pub(crate) async fn send_single(
    settings: &MailSettings,
    message: &Message,
    what: &str,
) -> anyhow::Result<()> {
    let mut session = SmtpSession::new(settings)?;
    let sent = tokio::time::timeout(
        Duration::from_secs(settings.timeout_secs),
        session.send(message),
    )
    .await;
    session.quit().await;
    match sent {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(anyhow::anyhow!("envoi {what} : {e}")),
        Err(_) => Err(anyhow::anyhow!("délai dépassé pour {what}")),
    }
}

/// One SMTP connection, opened on first use and reopened after a failure. The sender bounds
/// how many exist (one per worker); lettre's pool would not.
///
/// For `smtp://` veille opens the TCP connection itself with `TCP_NODELAY`: lettre writes the
/// body and the final `.` in two writes, and with Nagle's algorithm the second waits for the
/// server's delayed ACK — 40 ms per message, a ceiling of 25 messages/s per connection.
/// `smtps://` goes through lettre's own connect (TLS from the first byte), without that fix.
pub(crate) struct SmtpSession {
    host: String,
    port: u16,
    implicit_tls: bool,
    tls: TlsParameters,
    credentials: Option<Credentials>,
    timeout: Duration,
    hello: ClientId,
    connection: Option<AsyncSmtpConnection>,
    /// Whether the open connection's server announced PIPELINING (`pipeline`).
    pipelined: bool,
    /// The open connection's hold on its final dots (`held`); None under TLS.
    gate: Option<Arc<held::Gate>>,
    /// When the open connection last finished a transaction: past `IDLE_PROBE`, it is probed
    /// with NOOP before use, since servers close idle connections.
    last_used: std::time::Instant,
}

/// A new connection, with what its server offers.
struct Opened {
    connection: AsyncSmtpConnection,
    pipelined: bool,
    gate: Option<Arc<held::Gate>>,
}

/// Idle time after which a kept connection is checked before a message is written on it.
const IDLE_PROBE: Duration = Duration::from_secs(5);

impl SmtpSession {
    pub(crate) fn new(settings: &MailSettings) -> anyhow::Result<SmtpSession> {
        let url = url::Url::parse(&settings.smtp).map_err(|e| {
            anyhow::anyhow!(
                "serveur SMTP invalide « {} » : {}",
                settings.smtp,
                crate::wording::url(&e)
            )
        })?;
        let host = url
            .host_str()
            .ok_or_else(|| anyhow::anyhow!("serveur SMTP sans hôte : {}", settings.smtp))?
            .to_string();
        let implicit_tls = url.scheme() == "smtps";
        let port = url.port().unwrap_or(if implicit_tls { 465 } else { 25 });
        let tls = TlsParameters::new(host.clone())
            .map_err(|e| anyhow::anyhow!("TLS impossible vers {host} : {e}"))?;
        let credentials = if url.username().is_empty() {
            None
        } else {
            let password = std::env::var("VEILLE_SMTP_PASSWORD").map_err(|_| {
                anyhow::anyhow!(
                    "le serveur SMTP demande l'utilisateur « {} » : donnez son mot de passe dans VEILLE_SMTP_PASSWORD",
                    url.username()
                )
            })?;
            Some(Credentials::new(url.username().to_string(), password))
        };
        Ok(SmtpSession {
            host,
            port,
            implicit_tls,
            tls,
            credentials,
            timeout: Duration::from_secs(settings.timeout_secs),
            hello: ClientId::default(),
            connection: None,
            pipelined: false,
            gate: None,
            last_used: std::time::Instant::now(),
        })
    }

    async fn connect(&self) -> Result<Opened, SmtpFailure> {
        let mut gate = None;
        let mut connection = if self.implicit_tls {
            AsyncSmtpConnection::connect_tokio1(
                (self.host.as_str(), self.port),
                Some(self.timeout),
                &self.hello,
                Some(self.tls.clone()),
                None,
            )
            .await?
        } else {
            let stream = tokio::time::timeout(
                self.timeout,
                tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
            )
            .await
            .map_err(|_| {
                SmtpFailure::Connect(format!(
                    "{}:{} : délai de connexion dépassé",
                    self.host, self.port
                ))
            })?
            .map_err(|e| {
                SmtpFailure::Connect(format!(
                    "{}:{} : connexion impossible ({})",
                    self.host,
                    self.port,
                    crate::wording::io(&e)
                ))
            })?;
            stream
                .set_nodelay(true)
                .map_err(|e| SmtpFailure::Connect(e.to_string()))?;
            let held = Arc::new(held::Gate::default());
            let stream = held::HeldStream::new(stream, held.clone());
            let mut connection =
                AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello).await?;
            if connection.can_starttls() {
                connection.starttls(self.tls.clone(), &self.hello).await?;
            }
            // Under STARTTLS the gate sees ciphertext, where no dot can be found.
            gate = (!connection.is_encrypted()).then_some(held);
            connection
        };
        let pipelined = pipeline::offered(&mut connection, &self.hello).await?;
        if let Some(credentials) = &self.credentials {
            connection
                .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await?;
        }
        Ok(Opened {
            connection,
            pipelined,
            gate,
        })
    }

    /// Sends one message. A kept connection that went quiet is probed first and replaced if
    /// the server closed it; once a transaction has started it is never retried here, because
    /// a failure while reading the final reply may follow a delivery, and sending again could
    /// reach the person twice (the ledger records such a recipient as uncertain instead).
    pub(crate) async fn send(&mut self, message: &Message) -> Result<Response, SmtpFailure> {
        self.send_raw(message.envelope(), &message.formatted())
            .await
    }

    /// `send` for a message already formatted.
    pub(crate) async fn send_raw(
        &mut self,
        envelope: &lettre::address::Envelope,
        bytes: &[u8],
    ) -> Result<Response, SmtpFailure> {
        let mut connection = self.ready().await?;
        let result = self.transact(&mut connection, envelope, bytes).await;
        self.keep(connection);
        result
    }

    /// Sends one message whose delivery may start only once `durable` says yes (the ledger's
    /// commit marking the recipient `sending` is synced). Everything up to the final dot
    /// travels while `durable` is pending (see `held`); on no, the transaction is dropped
    /// with its connection, undelivered, and None is returned. `timeout` bounds the exchange,
    /// the wait for `durable` included; `durable` is always awaited to its end.
    pub(crate) async fn send_when(
        &mut self,
        envelope: &lettre::address::Envelope,
        bytes: &[u8],
        timeout: Duration,
        durable: impl Future<Output = bool>,
    ) -> Option<Result<Result<Response, SmtpFailure>, tokio::time::error::Elapsed>> {
        tokio::pin!(durable);
        let deadline = tokio::time::Instant::now() + timeout;
        let mut connection = match tokio::time::timeout_at(deadline, self.ready()).await {
            Ok(Ok(c)) => c,
            // No transaction started: the failure is reported only if the recipient is ours.
            Ok(Err(e)) => return durable.await.then_some(Ok(Err(e))),
            Err(elapsed) => return durable.await.then_some(Err(elapsed)),
        };
        let Some(gate) = self.gate.clone() else {
            if !durable.await {
                self.keep(connection);
                return None;
            }
            let result =
                tokio::time::timeout_at(deadline, self.transact(&mut connection, envelope, bytes))
                    .await;
            // Cut off mid-exchange by the timeout, the connection is in no known state.
            if result.is_ok() {
                self.keep(connection);
            }
            return Some(result);
        };
        gate.arm();
        let pipelined = self.pipelined;
        let result = {
            let exchange = tokio::time::timeout_at(
                deadline,
                Self::transact_on(pipelined, &mut connection, envelope, bytes),
            );
            tokio::pin!(exchange);
            let (go, early) = tokio::select! {
                go = &mut durable => (go, None),
                // Over before the dot: a refusal, a broken stream or the timeout; nothing went.
                result = &mut exchange => (durable.await, Some(result)),
            };
            if go {
                gate.release();
                Some(match early {
                    Some(result) => result,
                    None => exchange.await,
                })
            } else {
                None
            }
        };
        // Failed while the dot was still held (or its write failed): the server has no
        // complete message, so nothing was delivered and a retry is safe.
        let result = if gate.dot_out() {
            result
        } else {
            result.map(|r| r.map(|r| r.map_err(SmtpFailure::before_the_dot)))
        };
        gate.disarm();
        if matches!(result, Some(Ok(_))) {
            self.keep(connection);
        }
        // Dropped otherwise (abandoned, or cut off by the timeout): closing the connection
        // drops any unfinished transaction.
        result
    }

    /// The open connection, probed when it went quiet, or a new one.
    async fn ready(&mut self) -> Result<AsyncSmtpConnection, SmtpFailure> {
        let kept = match self.connection.take() {
            Some(mut c) if self.last_used.elapsed() >= IDLE_PROBE => {
                c.test_connected().await.then_some(c)
            }
            kept => kept,
        };
        Ok(match kept {
            Some(c) => c,
            None => {
                let opened = self.connect().await?;
                self.pipelined = opened.pipelined;
                self.gate = opened.gate;
                opened.connection
            }
        })
    }

    async fn transact(
        &self,
        connection: &mut AsyncSmtpConnection,
        envelope: &lettre::address::Envelope,
        bytes: &[u8],
    ) -> Result<Response, SmtpFailure> {
        Self::transact_on(self.pipelined, connection, envelope, bytes).await
    }

    async fn transact_on(
        pipelined: bool,
        connection: &mut AsyncSmtpConnection,
        envelope: &lettre::address::Envelope,
        bytes: &[u8],
    ) -> Result<Response, SmtpFailure> {
        if pipelined {
            pipeline::send(connection, envelope, bytes).await
        } else {
            pipeline::send_in_steps(connection, envelope, bytes).await
        }
    }

    /// Keeps `connection` for the next message unless it broke.
    fn keep(&mut self, connection: AsyncSmtpConnection) {
        if !connection.has_broken() {
            self.connection = Some(connection);
        }
        self.last_used = std::time::Instant::now();
    }

    /// Ends the session politely.
    pub(crate) async fn quit(&mut self) {
        if let Some(mut connection) = self.connection.take() {
            let _ = connection.quit().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server on 127.0.0.1 (no PIPELINING) that accepts a first message, then reads a
    /// second one whole and resets the connection before its final reply (a network error
    /// for the client, not an incomplete reply); it counts the messages it received on every
    /// connection.
    async fn server_hanging_up_after_the_second_message(
        listener: tokio::net::TcpListener,
        received: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    ) {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            // Closing then sends a reset.
            socket.set_zero_linger().unwrap();
            let (read, mut write) = socket.into_split();
            let mut lines = BufReader::new(read);
            let mut line = String::new();
            let _ = write.write_all(b"220 mx.exemple.fr ESMTP\r\n").await;
            let mut in_data = false;
            loop {
                line.clear();
                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                    break;
                }
                let reply: &[u8] = if in_data {
                    if line != ".\r\n" {
                        continue;
                    }
                    in_data = false;
                    let n = received.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    if n >= 2 {
                        // Whole again, so that no FIN goes out before the reset.
                        drop(lines.into_inner().reunite(write).unwrap());
                        break;
                    }
                    b"250 2.0.0 Ok: queued\r\n"
                } else if line.starts_with("EHLO") {
                    b"250-mx.exemple.fr\r\n250 8BITMIME\r\n"
                } else if line.starts_with("DATA") {
                    in_data = true;
                    b"354 go on\r\n"
                } else if line.starts_with("QUIT") {
                    b"221 bye\r\n"
                } else {
                    b"250 Ok\r\n"
                };
                if write.write_all(reply).await.is_err() {
                    break;
                }
            }
        }
    }

    #[tokio::test]
    async fn a_message_whose_reply_is_lost_is_not_sent_again() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let server = tokio::spawn(server_hanging_up_after_the_second_message(
            listener,
            received.clone(),
        ));
        let settings: MailSettings = toml::from_str(&format!(
            "from = \"lettre@ressources.example\"\nsmtp = \"smtp://127.0.0.1:{port}\"\n\
             timeout_secs = 5"
        ))
        .unwrap();
        let mut session = SmtpSession::new(&settings).unwrap();
        let message = |to: &str| {
            Message::builder()
                .from("lettre@ressources.example".parse().unwrap())
                .to(to.parse().unwrap())
                .subject("Flash Info")
                .body(String::from("Bonjour"))
                .unwrap()
        };
        session.send(&message("une@exemple.fr")).await.unwrap();
        // The reused connection breaks after the message was written: an error, and no
        // second copy on a new connection.
        let failure = session.send(&message("deux@exemple.fr")).await.unwrap_err();
        assert!(failure.is_reply_lost(), "{failure}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(received.load(std::sync::atomic::Ordering::SeqCst), 2);
        server.abort();
    }

    /// Where `breaking_server` breaks its one transaction.
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Break {
        /// Hangs up on MAIL FROM, without a reply.
        AtMail,
        /// Hangs up on RCPT TO, without a reply.
        AtRcpt,
        /// Resets the connection once the message starts to arrive, before its final dot
        /// (which the ledger holds back until then: its write fails).
        ResetBeforeDot,
        /// Takes the message (final dot received), then hangs up without a reply.
        AfterDot,
        /// Answers the final dot with a line that is no SMTP reply.
        GarbledAfterDot,
        /// Answers the final dot with a temporary refusal.
        RefusedAfterDot,
    }

    /// A server on 127.0.0.1, PIPELINING announced or not, for one transaction broken at
    /// `fault`; true when it received a whole message.
    async fn breaking_server(
        listener: tokio::net::TcpListener,
        pipelining: bool,
        fault: Break,
        reset: Arc<tokio::sync::Notify>,
    ) -> bool {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let (socket, _) = listener.accept().await.unwrap();
        if fault == Break::ResetBeforeDot {
            // Closing then sends a reset.
            socket.set_zero_linger().unwrap();
        }
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read);
        let mut line = String::new();
        let _ = write.write_all(b"220 mx.exemple.fr ESMTP\r\n").await;
        let mut in_data = false;
        loop {
            line.clear();
            if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                return false;
            }
            let reply: &[u8] = if in_data {
                if fault == Break::ResetBeforeDot {
                    drop(lines.into_inner().reunite(write).unwrap());
                    reset.notify_one();
                    return false;
                }
                if line != ".\r\n" {
                    continue;
                }
                in_data = false;
                match fault {
                    Break::AfterDot => return true,
                    Break::GarbledAfterDot => b"bien recu\r\n",
                    Break::RefusedAfterDot => b"451 4.3.0 Try again later\r\n",
                    _ => b"250 2.0.0 Ok: queued\r\n",
                }
            } else if line.starts_with("EHLO") && pipelining {
                b"250-mx.exemple.fr\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
            } else if line.starts_with("EHLO") {
                b"250-mx.exemple.fr\r\n250 8BITMIME\r\n"
            } else if (line.starts_with("MAIL") && fault == Break::AtMail)
                || (line.starts_with("RCPT") && fault == Break::AtRcpt)
            {
                return false;
            } else if line.starts_with("DATA") {
                in_data = true;
                b"354 go on\r\n"
            } else if line.starts_with("QUIT") {
                return fault != Break::AtMail && fault != Break::AtRcpt;
            } else {
                b"250 Ok\r\n"
            };
            if write.write_all(reply).await.is_err() {
                return false;
            }
        }
    }

    /// How veille's session reads a transaction that `breaking_server` breaks at `fault`
    /// (the path of an edition's send, final dot held for the ledger); whether the server
    /// received the message.
    async fn broken_transaction(pipelining: bool, fault: Break) -> (SmtpFailure, bool) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let reset = Arc::new(tokio::sync::Notify::new());
        let server = tokio::spawn(breaking_server(listener, pipelining, fault, reset.clone()));
        // The ledger's commit is durable at once, or, for a reset before the dot, once the
        // reset has reached veille.
        let durable = async {
            if fault == Break::ResetBeforeDot {
                reset.notified().await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            true
        };
        let settings: MailSettings = toml::from_str(&format!(
            "from = \"lettre@ressources.example\"\nsmtp = \"smtp://127.0.0.1:{port}\"\n\
             timeout_secs = 5"
        ))
        .unwrap();
        let mut session = SmtpSession::new(&settings).unwrap();
        let message = Message::builder()
            .from("lettre@ressources.example".parse().unwrap())
            .to("lectrice@exemple.fr".parse().unwrap())
            .subject("Flash Info")
            .body(String::from("Bonjour"))
            .unwrap();
        let result = session
            .send_when(
                message.envelope(),
                &message.formatted(),
                Duration::from_secs(5),
                durable,
            )
            .await
            .expect("ledger said yes")
            .expect("no timeout");
        assert_eq!(session.pipelined, pipelining);
        session.quit().await;
        (result.unwrap_err(), server.await.unwrap())
    }

    #[tokio::test]
    async fn a_break_is_uncertain_only_once_the_message_started_to_leave() {
        for pipelining in [false, true] {
            for (fault, reply_lost) in [
                (Break::AtMail, false),
                (Break::AtRcpt, false),
                (Break::ResetBeforeDot, false),
                (Break::AfterDot, true),
                (Break::GarbledAfterDot, true),
                (Break::RefusedAfterDot, false),
            ] {
                let what = format!("{fault:?}, pipelining {pipelining}");
                let (failure, received) = broken_transaction(pipelining, fault).await;
                assert_eq!(failure.is_reply_lost(), reply_lost, "{what} : {failure}");
                assert!(!failure.is_permanent() && !failure.is_timeout(), "{what}");
                // A break before the message is no delivery: the recipient is retried.
                let before = [Break::AtMail, Break::AtRcpt, Break::ResetBeforeDot];
                assert_eq!(received, !before.contains(&fault), "{what}");
                if fault == Break::RefusedAfterDot {
                    // A reply keeps its meaning: a 4xx after the dot is a temporary refusal.
                    assert!(
                        matches!(&failure, SmtpFailure::Smtp(e) if e.is_transient()),
                        "{what} : {failure}"
                    );
                }
                // Known to have come while the dot was held, no failure is uncertain.
                assert!(!failure.before_the_dot().is_reply_lost(), "{what}");
            }
        }
    }

    #[test]
    fn addresses_are_normalised_or_refused() {
        assert_eq!(
            normalise_address(" Anne.Martin@Example.ORG "),
            Some("anne.martin@example.org".into())
        );
        assert_eq!(
            normalise_address("<b@example.fr>"),
            Some("b@example.fr".into())
        );
        for bad in [
            "",
            "anne",
            "anne@",
            "@example.org",
            "a b@example.org",
            "a@example",
            "a@example.org\r\nBcc: x@y.fr",
        ] {
            assert_eq!(normalise_address(bad), None, "{bad:?}");
        }
    }
}
