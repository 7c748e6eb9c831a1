//! A bare SMTP server on 127.0.0.1 that shows what the aiosmtpd sink cannot: the DATA
//! transactions open right now (message under way, final dot not yet received) and those a
//! client dropped before its dot, which a server never delivers. Line by line, one thread per
//! connection; PIPELINING announced or not.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What the server saw, shared with the test.
#[derive(Default)]
pub(crate) struct Seen {
    /// Recipients of the messages delivered (final dot received), in order.
    pub(crate) delivered: Vec<String>,
    /// Recipients of the transactions cut off during DATA (never delivered).
    pub(crate) dropped: Vec<String>,
    /// Transactions in DATA now.
    pub(crate) open: usize,
}

pub(crate) struct HeldSink {
    pub(crate) port: u16,
    pub(crate) seen: Arc<Mutex<Seen>>,
}

impl HeldSink {
    pub(crate) fn start(pipelining: bool) -> HeldSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = shared.clone();
                std::thread::spawn(move || serve(stream, pipelining, &seen));
            }
        });
        HeldSink { port, seen }
    }

    pub(crate) fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub(crate) fn seen<T>(&self, look: impl FnOnce(&Seen) -> T) -> T {
        look(&self.seen.lock().unwrap())
    }
}

fn serve(stream: TcpStream, pipelining: bool, seen: &Mutex<Seen>) {
    let mut out = stream.try_clone().expect("clone");
    let mut lines = BufReader::new(stream);
    let mut reply = |text: &str| out.write_all(text.as_bytes()).is_ok();
    if !reply("220 held.exemple.fr ESMTP\r\n") {
        return;
    }
    let mut recipient = String::new();
    let mut in_data = false;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).unwrap_or(0) == 0 {
            if in_data {
                let mut seen = seen.lock().unwrap();
                seen.open -= 1;
                seen.dropped.push(recipient);
            }
            return;
        }
        if in_data {
            if line == ".\r\n" {
                in_data = false;
                let mut seen = seen.lock().unwrap();
                seen.open -= 1;
                seen.delivered.push(recipient.clone());
                drop(seen);
                if !reply("250 2.0.0 Ok: queued\r\n") {
                    return;
                }
            }
            continue;
        }
        let command = line.to_ascii_uppercase();
        let answer = if command.starts_with("EHLO") {
            if pipelining {
                "250-held.exemple.fr\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
            } else {
                "250-held.exemple.fr\r\n250 8BITMIME\r\n"
            }
        } else if let Some(to) = command.strip_prefix("RCPT TO:") {
            recipient = to.trim().trim_matches(['<', '>']).to_ascii_lowercase();
            "250 2.1.5 Ok\r\n"
        } else if command.starts_with("DATA") {
            in_data = true;
            seen.lock().unwrap().open += 1;
            "354 End data with <CR><LF>.<CR><LF>\r\n"
        } else if command.starts_with("QUIT") {
            let _ = reply("221 2.0.0 Bye\r\n");
            return;
        } else {
            "250 2.0.0 Ok\r\n"
        };
        if !reply(answer) {
            return;
        }
    }
}
