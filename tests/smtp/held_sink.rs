//! A bare SMTP server on 127.0.0.1 that shows what the aiosmtpd sink cannot: the DATA
//! transactions open right now (message under way, final dot not yet received) and those a
//! client dropped before its dot, which a server never delivers. Line by line, one thread per
//! connection; PIPELINING announced or not. It can also break a connection on purpose
//! (`Faults`), before or after a message was taken, to check what the client concludes.

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
    /// Recipients whose connection was cut by a fault, in order.
    pub(crate) cut: Vec<String>,
    /// Once this many messages are delivered, the reply to each further final dot waits
    /// (`HeldSink::resume`): the client's send stands still, whatever the machine's speed.
    pub(crate) pause_after: Option<usize>,
}

/// Connections broken on purpose, once per address listed (the client's next try for it is
/// served normally).
#[derive(Default)]
pub(crate) struct Faults {
    /// Takes these recipients' messages (final dot received: delivered), then closes the
    /// connection without replying: the client cannot know the message went.
    pub(crate) silent_after_dot: Vec<String>,
    /// Closes the connection instead of answering these recipients' RCPT TO: nothing went.
    pub(crate) hang_up_at_rcpt: Vec<String>,
}

pub(crate) struct HeldSink {
    pub(crate) port: u16,
    pub(crate) seen: Arc<Mutex<Seen>>,
}

impl HeldSink {
    pub(crate) fn start(pipelining: bool) -> HeldSink {
        HeldSink::start_with(pipelining, Faults::default())
    }

    pub(crate) fn start_with(pipelining: bool, faults: Faults) -> HeldSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = seen.clone();
        let faults = Arc::new(Mutex::new(faults));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = shared.clone();
                let faults = faults.clone();
                std::thread::spawn(move || serve(stream, pipelining, &seen, &faults));
            }
        });
        HeldSink { port, seen }
    }

    pub(crate) fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Holds the replies to final dots from the `count`-th delivered message on.
    pub(crate) fn pause_after(&self, count: usize) {
        self.seen.lock().unwrap().pause_after = Some(count);
    }

    pub(crate) fn resume(&self) {
        self.seen.lock().unwrap().pause_after = None;
    }

    pub(crate) fn seen<T>(&self, look: impl FnOnce(&Seen) -> T) -> T {
        look(&self.seen.lock().unwrap())
    }
}

/// Whether `fault` names `recipient`; if so it is spent, and the cut recorded.
fn strikes(fault: &mut Vec<String>, recipient: &str, seen: &Mutex<Seen>) -> bool {
    let Some(at) = fault.iter().position(|r| r == recipient) else {
        return false;
    };
    fault.remove(at);
    seen.lock().unwrap().cut.push(recipient.to_string());
    true
}

fn paused(seen: &Mutex<Seen>) -> bool {
    let seen = seen.lock().unwrap();
    seen.pause_after
        .is_some_and(|from| seen.delivered.len() >= from)
}

fn serve(stream: TcpStream, pipelining: bool, seen: &Mutex<Seen>, faults: &Mutex<Faults>) {
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
                {
                    let mut seen = seen.lock().unwrap();
                    seen.open -= 1;
                    seen.delivered.push(recipient.clone());
                }
                while paused(seen) {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                if strikes(
                    &mut faults.lock().unwrap().silent_after_dot,
                    &recipient,
                    seen,
                ) {
                    return;
                }
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
            if strikes(
                &mut faults.lock().unwrap().hang_up_at_rcpt,
                &recipient,
                seen,
            ) {
                return;
            }
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
