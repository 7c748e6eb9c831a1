//! SMTP command pipelining (RFC 2920) on lettre's own connection: MAIL FROM, RCPT TO and
//! DATA leave in one write and their replies are read in order, then the message and its
//! final dot in one more write — two round trips per message where lettre makes four.
//!
//! lettre's client has no pipelining and its `ServerInfo` forgets the PIPELINING keyword, so
//! `offered` asks the server again (a second EHLO, which RFC 5321 allows at any time). Only
//! the public parts of lettre's connection are used (`command`, `read_response`, `abort`):
//! TLS, STARTTLS and AUTH stay lettre's, and every reply is parsed and classified by lettre
//! (`Error::is_permanent`, `is_transient`…) exactly as when lettre sends.
//!
//! Without PIPELINING, `send_in_steps` makes lettre's own exchange step by step. Both paths
//! tell where a failure came (`SmtpFailure::during`): before the message started to leave,
//! nothing can have been delivered; after, a broken connection may follow a delivery.

use std::fmt;

use lettre::address::Envelope;
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;

use super::SmtpFailure;

/// Text written as it is: several commands, or a message already made transparent.
struct Verbatim<'a>(&'a str);

impl fmt::Display for Verbatim<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Whether the server announces PIPELINING, asked with a new EHLO (lettre keeps only the
/// extensions it knows). Asked before AUTH, which a new EHLO could otherwise reset.
pub(crate) async fn offered(
    connection: &mut AsyncSmtpConnection,
    hello: &ClientId,
) -> Result<bool, SmtpError> {
    match connection.command(Ehlo::new(hello.clone())).await {
        Ok(response) => Ok(announces_pipelining(&response)),
        // A server that answers the second EHLO with a refusal is simply not pipelined.
        Err(e) if is_code(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

fn announces_pipelining(response: &Response) -> bool {
    // The first line is the server's name, the others one keyword (and its arguments) each.
    response.message().skip(1).any(|line| {
        line.split_whitespace()
            .next()
            .is_some_and(|word| word.eq_ignore_ascii_case("PIPELINING"))
    })
}

/// The MAIL FROM parameters `email` needs, or None when lettre's own `send` would refuse it
/// before any exchange (an accented local part without SMTPUTF8, 8-bit content without
/// 8BITMIME): then lettre's `send` is called, so that the refusal stays lettre's client error.
fn mail_parameters(
    connection: &AsyncSmtpConnection,
    envelope: &Envelope,
    email: &[u8],
) -> Option<Vec<MailParameter>> {
    let info = connection.server_info();
    let utf8_addresses = envelope
        .from()
        .into_iter()
        .chain(envelope.to())
        .any(|a| !AsRef::<str>::as_ref(a).is_ascii());
    let eight_bit = !email.is_ascii();
    if (utf8_addresses && !info.supports_feature(Extension::SmtpUtfEight))
        || (eight_bit && !info.supports_feature(Extension::EightBitMime))
    {
        return None;
    }
    let mut parameters = Vec::new();
    if utf8_addresses {
        parameters.push(MailParameter::SmtpUtfEight);
    }
    if eight_bit {
        parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    Some(parameters)
}

/// Sends one message a command at a time, as lettre's `send` does (and with its checks), but
/// knowing whether the message had started to leave when it failed. As with lettre, any
/// failure closes the connection.
pub(crate) async fn send_in_steps(
    connection: &mut AsyncSmtpConnection,
    envelope: &Envelope,
    email: &[u8],
) -> Result<Response, SmtpFailure> {
    let Some(parameters) = mail_parameters(connection, envelope, email) else {
        // lettre refuses before writing anything.
        return connection
            .send(envelope, email)
            .await
            .map_err(SmtpFailure::Smtp);
    };
    let commands = async {
        connection
            .command(Mail::new(envelope.from().cloned(), parameters))
            .await?;
        for to in envelope.to() {
            connection.command(Rcpt::new(to.clone(), vec![])).await?;
        }
        connection.command(Data).await
    }
    .await;
    if let Err(e) = commands {
        connection.abort().await;
        return Err(SmtpFailure::during(e, false));
    }
    let result = connection.message(email).await;
    if result.is_err() {
        connection.abort().await;
    }
    result.map_err(|e| SmtpFailure::during(e, true))
}

/// Sends one message, pipelined; what lettre would refuse, or what is no UTF-8 text, goes
/// through `send_in_steps`. As with lettre, any failure closes the connection (the caller
/// opens another), so a half-done transaction never lingers on it.
pub(crate) async fn send(
    connection: &mut AsyncSmtpConnection,
    envelope: &Envelope,
    email: &[u8],
) -> Result<Response, SmtpFailure> {
    let (Some(parameters), Ok(text)) = (
        mail_parameters(connection, envelope, email),
        std::str::from_utf8(email),
    ) else {
        return send_in_steps(connection, envelope, email).await;
    };
    let mut commands = Mail::new(envelope.from().cloned(), parameters).to_string();
    for to in envelope.to() {
        commands.push_str(&Rcpt::new(to.clone(), vec![]).to_string());
    }
    commands.push_str(&Data.to_string());

    // Every reply is read, even after a refusal, so that the first one that failed is the one
    // reported (a refused RCPT makes the DATA fail too: the RCPT's reply says why).
    let mut first_failure = connection.command(Verbatim(&commands)).await.err();
    for _ in 0..envelope.to().len() + 1 {
        if first_failure
            .as_ref()
            .is_some_and(|e| !e.is_response() && !is_code(e))
        {
            // The stream itself failed: nothing more to read.
            break;
        }
        if let Err(e) = connection.read_response().await {
            first_failure.get_or_insert(e);
        }
    }
    if let Some(failure) = first_failure {
        connection.abort().await;
        return Err(SmtpFailure::during(failure, false));
    }
    // From here on the message leaves: a broken connection may follow its delivery.
    let mut body = transparent(text);
    body.push_str("\r\n.\r\n");
    let result = connection.command(Verbatim(&body)).await;
    if result.is_err() {
        connection.abort().await;
    }
    result.map_err(|e| SmtpFailure::during(e, true))
}

/// A negative reply of the server (4xx or 5xx), as opposed to a broken stream.
pub(crate) fn is_code(error: &SmtpError) -> bool {
    error.is_transient() || error.is_permanent()
}

/// RFC 5321 §4.5.2 transparency: a line that starts with a dot gets one more, the way
/// lettre's codec does it (at the start and after each CRLF). Line starts with a dot are
/// exactly the start and the ends of `\r\n.`, found by one search over the message.
fn transparent(message: &str) -> String {
    static LINE_DOT: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\r\n."));
    let mut out = String::with_capacity(message.len() + 64);
    let mut copied = 0;
    if message.starts_with('.') {
        out.push('.');
    }
    for at in LINE_DOT.find_iter(message.as_bytes()) {
        // `at + 2` is the dot, an ASCII byte: a character boundary.
        out.push_str(&message[copied..at + 2]);
        out.push('.');
        copied = at + 2;
    }
    out.push_str(&message[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lettre::transport::smtp::response::{Category, Code, Detail, Severity};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    /// A server on 127.0.0.1 that announces PIPELINING and answers MAIL, RCPT and DATA only
    /// once all three have arrived: a client waiting for each reply would hang here. Returns
    /// what it received after the second EHLO.
    async fn strict_server(listener: tokio::net::TcpListener, rcpt_reply: &'static str) -> String {
        let (socket, _) = listener.accept().await.unwrap();
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read);
        let mut line = String::new();
        write
            .write_all(b"220 mx.exemple.fr ESMTP\r\n")
            .await
            .unwrap();
        for _ in 0..2 {
            line.clear();
            lines.read_line(&mut line).await.unwrap();
            assert!(line.starts_with("EHLO "), "{line}");
            write
                .write_all(b"250-mx.exemple.fr\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
                .await
                .unwrap();
        }
        let mut seen = String::new();
        for expected in ["MAIL FROM:", "RCPT TO:", "DATA"] {
            line.clear();
            lines.read_line(&mut line).await.unwrap();
            assert!(line.starts_with(expected), "{line}");
            seen.push_str(&line);
        }
        let refused = !rcpt_reply.starts_with('2');
        let data = if refused {
            "554 5.5.1 No valid recipients"
        } else {
            "354 go on"
        };
        let replies = format!("250 2.1.0 Ok\r\n{rcpt_reply}\r\n{data}\r\n");
        write.write_all(replies.as_bytes()).await.unwrap();
        if refused {
            return seen;
        }
        loop {
            line.clear();
            if lines.read_line(&mut line).await.unwrap() == 0 {
                break;
            }
            seen.push_str(&line);
            if line == ".\r\n" {
                write
                    .write_all(b"250 2.0.0 Ok: queued as 1\r\n")
                    .await
                    .unwrap();
                break;
            }
        }
        seen
    }

    /// Sends `body` through `send` to a `strict_server` answering RCPT with `rcpt_reply`;
    /// the send's result and what the server received.
    async fn exchange(
        rcpt_reply: &'static str,
        body: &str,
    ) -> (Result<Response, SmtpFailure>, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(strict_server(listener, rcpt_reply));
        let stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let hello = ClientId::Domain("veille.test".into());
        let mut connection = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &hello)
            .await
            .unwrap();
        assert!(offered(&mut connection, &hello).await.unwrap());
        let envelope = Envelope::new(
            Some("lettre@ressources.example".parse().unwrap()),
            vec!["lectrice@exemple.fr".parse().unwrap()],
        )
        .unwrap();
        let result = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            send(&mut connection, &envelope, body.as_bytes()),
        )
        .await
        .expect("the client waited for a reply instead of pipelining");
        // As with lettre: a failed transaction closes the connection, a success keeps it.
        assert_eq!(connection.has_broken(), result.is_err());
        (result, server.await.unwrap())
    }

    #[tokio::test]
    async fn commands_leave_together_and_the_message_is_transparent() {
        let (result, received) = exchange("250 2.1.5 Ok", "Subject: é\r\n\r\n.ligne\r\nfin").await;
        let response = result.unwrap();
        assert_eq!(response.code().to_string(), "250");
        assert_eq!(
            received,
            "MAIL FROM:<lettre@ressources.example> BODY=8BITMIME\r\n\
             RCPT TO:<lectrice@exemple.fr>\r\nDATA\r\n\
             Subject: é\r\n\r\n..ligne\r\nfin\r\n.\r\n"
        );
    }

    #[tokio::test]
    async fn a_refused_recipient_reports_its_own_reply() {
        let (result, _) = exchange("550 5.1.1 Mailbox unknown", "Subject: x\r\n\r\nx").await;
        // A reply, not a broken stream: its meaning is kept.
        let SmtpFailure::Smtp(error) = result.unwrap_err() else {
            panic!("un refus lu comme une connexion rompue");
        };
        assert!(error.is_permanent(), "{error}");
        assert!(error.to_string().contains("550"), "{error}");
        assert!(error.to_string().contains("Mailbox unknown"), "{error}");
        let (result, _) = exchange("451 4.3.0 Try again later", "Subject: x\r\n\r\nx").await;
        let SmtpFailure::Smtp(error) = result.unwrap_err() else {
            panic!("un refus lu comme une connexion rompue");
        };
        assert!(error.is_transient() && !error.is_permanent(), "{error}");
        assert!(error.to_string().contains("Try again later"), "{error}");
    }

    #[test]
    fn lines_starting_with_a_dot_get_another() {
        assert_eq!(transparent(".a\r\nb\r\n.\r\n..c"), "..a\r\nb\r\n..\r\n...c");
        assert_eq!(transparent("a.\r\nb\n.c\r."), "a.\r\nb\n.c\r.");
        assert_eq!(transparent(""), "");
        assert_eq!(transparent("."), "..");
        assert_eq!(transparent("\r\n.\r\n.\r\n"), "\r\n..\r\n..\r\n");
    }

    /// Transparency as it was written before the single search: line by line.
    fn transparent_by_lines(message: &str) -> String {
        let mut out = String::new();
        let mut line_start = true;
        let mut rest = message;
        while !rest.is_empty() {
            if line_start && rest.starts_with('.') {
                out.push('.');
            }
            match rest.find("\r\n") {
                Some(end) => {
                    out.push_str(&rest[..end + 2]);
                    rest = &rest[end + 2..];
                    line_start = true;
                }
                None => {
                    out.push_str(rest);
                    rest = "";
                }
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn transparency_agrees_with_the_line_by_line_reading(message in "[a.é\r\n]{0,60}") {
            proptest::prop_assert_eq!(transparent(&message), transparent_by_lines(&message));
        }
    }

    #[test]
    fn pipelining_is_read_from_the_ehlo_keywords() {
        let code = Code::new(
            Severity::PositiveCompletion,
            Category::MailSystem,
            Detail::Zero,
        );
        let lines = |l: &[&str]| Response::new(code, l.iter().map(|s| s.to_string()).collect());
        assert!(announces_pipelining(&lines(&[
            "mx.exemple.fr",
            "SIZE 1000",
            "PIPELINING"
        ])));
        assert!(announces_pipelining(&lines(&["mx", "pipelining"])));
        // The server's name is no keyword, nor is a word further on a line.
        assert!(!announces_pipelining(&lines(&["PIPELINING", "8BITMIME"])));
        assert!(!announces_pipelining(&lines(&["mx", "X-NOT PIPELINING"])));
    }
}
