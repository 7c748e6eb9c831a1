//! A real HTTP/1.1 server on 127.0.0.1 for tests and benchmarks: serves scripted routes
//! (status, headers, body, delays, slow drip, ETag/Last-Modified → 304) and counts hits.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server answers on one path.
#[derive(Clone, Debug)]
pub(crate) struct Route {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// Wait before sending anything.
    pub(crate) delay: Duration,
    /// Send the body one byte at a time with this pause.
    pub(crate) drip: Option<Duration>,
    /// Answer 304 when the request carries this `If-None-Match`.
    pub(crate) etag: Option<String>,
    /// Answer 304 when the request carries this `If-Modified-Since`.
    pub(crate) last_modified: Option<String>,
}

impl Route {
    pub(crate) fn ok(body: impl Into<Vec<u8>>, content_type: &str) -> Route {
        Route {
            status: 200,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
            delay: Duration::ZERO,
            drip: None,
            etag: None,
            last_modified: None,
        }
    }

    pub(crate) fn rss(body: impl Into<Vec<u8>>) -> Route {
        Route::ok(body, "application/rss+xml; charset=utf-8")
    }

    pub(crate) fn status(status: u16) -> Route {
        Route {
            status,
            ..Route::ok(Vec::new(), "text/plain")
        }
    }

    pub(crate) fn header(mut self, name: &str, value: &str) -> Route {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub(crate) fn with_etag(mut self, etag: &str) -> Route {
        self.etag = Some(etag.into());
        self.header("ETag", etag)
    }

    pub(crate) fn with_last_modified(mut self, date: &str) -> Route {
        self.last_modified = Some(date.into());
        self.header("Last-Modified", date)
    }

    pub(crate) fn delayed(mut self, delay: Duration) -> Route {
        self.delay = delay;
        self
    }

    pub(crate) fn dripping(mut self, pause: Duration) -> Route {
        self.drip = Some(pause);
        self
    }
}

/// The headers of one request, names lowercased.
pub(crate) type Headers = HashMap<String, String>;

/// A running server; it stops with the test process.
#[derive(Clone)]
pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    hits: Arc<Mutex<HashMap<String, Vec<Headers>>>>,
    in_flight: Arc<Mutex<(usize, usize)>>, // (now, most ever)
}

impl TestServer {
    /// Starts a server on an ephemeral port of 127.0.0.1, on its own thread.
    pub(crate) fn start() -> TestServer {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("local addr");
        let server = TestServer {
            addr,
            routes: Arc::default(),
            hits: Arc::default(),
            in_flight: Arc::default(),
        };
        let inner = server.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("listener");
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let inner = inner.clone();
                    tokio::spawn(async move { inner.serve(stream).await });
                }
            });
        });
        server
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub(crate) fn route(&self, path: &str, route: Route) {
        self.routes.lock().unwrap().insert(path.to_string(), route);
    }

    /// How many requests reached `path`.
    pub(crate) fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).map_or(0, Vec::len)
    }

    /// The headers (lowercased names) of every request to `path`.
    pub(crate) fn requests(&self, path: &str) -> Vec<HashMap<String, String>> {
        self.hits
            .lock()
            .unwrap()
            .get(path)
            .cloned()
            .unwrap_or_default()
    }

    /// The most requests this server was ever answering at the same time.
    pub(crate) fn max_in_flight(&self) -> usize {
        self.in_flight.lock().unwrap().1
    }

    async fn serve(&self, mut stream: TcpStream) {
        let mut buffer = Vec::new();
        loop {
            let Some(end) = read_head(&mut stream, &mut buffer).await else {
                return;
            };
            let head = String::from_utf8_lossy(&buffer[..end]).to_string();
            buffer.drain(..end + 4);
            let mut lines = head.split("\r\n");
            let request_line = lines.next().unwrap_or_default();
            let path = request_line.split(' ').nth(1).unwrap_or("/").to_string();
            let headers: HashMap<String, String> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                .collect();
            self.hits
                .lock()
                .unwrap()
                .entry(path.clone())
                .or_default()
                .push(headers.clone());
            {
                let mut counter = self.in_flight.lock().unwrap();
                counter.0 += 1;
                counter.1 = counter.1.max(counter.0);
            }
            let answered = self.answer(&mut stream, &path, &headers).await;
            self.in_flight.lock().unwrap().0 -= 1;
            if !answered {
                return;
            }
        }
    }

    /// Writes one response; false when the connection is gone.
    async fn answer(
        &self,
        stream: &mut TcpStream,
        path: &str,
        headers: &HashMap<String, String>,
    ) -> bool {
        {
            let route = self.routes.lock().unwrap().get(path).cloned();
            let route = route.unwrap_or_else(|| Route {
                status: 404,
                ..Route::ok("introuvable", "text/plain")
            });
            if !route.delay.is_zero() {
                tokio::time::sleep(route.delay).await;
            }
            let not_modified = route
                .etag
                .as_ref()
                .is_some_and(|e| headers.get("if-none-match") == Some(e))
                || route
                    .last_modified
                    .as_ref()
                    .is_some_and(|d| headers.get("if-modified-since") == Some(d));
            let (status, body): (u16, &[u8]) = if not_modified {
                (304, b"")
            } else {
                (route.status, &route.body)
            };
            let mut response = format!("HTTP/1.1 {status} {}\r\n", reason(status));
            for (k, v) in &route.headers {
                response.push_str(&format!("{k}: {v}\r\n"));
            }
            response.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
            match route.drip {
                Some(pause) if !not_modified => {
                    if stream.write_all(response.as_bytes()).await.is_err() {
                        return false;
                    }
                    for byte in body {
                        if stream.write_all(&[*byte]).await.is_err() {
                            return false;
                        }
                        tokio::time::sleep(pause).await;
                    }
                    true
                }
                // Head and body in one write, as real servers send them (a single `writev`,
                // or TCP_NODELAY): written apart, the body waited behind Nagle's algorithm
                // for the client's delayed ACK of the head, about 40 ms on Linux loopback,
                // so every 200 answer took the configured delay plus that stall.
                _ => {
                    let mut whole = response.into_bytes();
                    whole.extend_from_slice(body);
                    stream.write_all(&whole).await.is_ok()
                }
            }
        }
    }
}

async fn read_head(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<usize> {
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(end);
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
