//! The bounce mailbox over IMAP (async-imap): `imaps://` (TLS from the first byte) or
//! `imap://` with STARTTLS, required except towards the loopback interface. Each message is
//! fetched without touching its flags, processed, and only then moved to the done folder
//! (or, where MOVE is refused, given the `$VeilleTraite` keyword), so a crash reprocesses
//! rather than loses. A named centre of a network may share its mailbox with other centres:
//! it leaves each message in place with its own keyword (`$VeilleTraite-<centre>`), so that
//! every centre reads it once, for its own subscribers.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_imap::{Client, Session};
use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{ClientConfig, RootCertStore, pki_types::ServerName};

use super::mailbox::FetchReport;
use super::{Context, process};
use crate::config::BounceSettings;

/// The keyword of processed messages where they cannot be moved.
const DONE_KEYWORD: &str = "$VeilleTraite";
const TIMEOUT: Duration = Duration::from_secs(60);

/// Where the mailbox is, from `imap = "imaps://user@host:993/INBOX"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImapTarget {
    pub(crate) tls: bool,
    pub(crate) user: String,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) mailbox: String,
}

impl ImapTarget {
    pub(crate) fn parse(text: &str) -> anyhow::Result<ImapTarget> {
        let url = url::Url::parse(text)
            .map_err(|e| anyhow::anyhow!("adresse IMAP invalide « {text} » : {e}"))?;
        let tls = match url.scheme() {
            "imaps" => true,
            "imap" => false,
            other => anyhow::bail!(
                "adresse IMAP « {text} » : schéma « {other} » inconnu (imaps:// ou imap:// avec STARTTLS)"
            ),
        };
        let host = url
            .host_str()
            .ok_or_else(|| anyhow::anyhow!("adresse IMAP « {text} » sans serveur"))?
            .trim_matches(['[', ']'])
            .to_string();
        let user = percent_decode(url.username());
        if user.is_empty() {
            anyhow::bail!(
                "adresse IMAP « {text} » sans utilisateur (imaps://utilisateur@serveur/INBOX)"
            );
        }
        let mailbox = percent_decode(url.path().trim_start_matches('/'));
        Ok(ImapTarget {
            tls,
            user,
            host,
            port: url.port().unwrap_or(if tls { 993 } else { 143 }),
            mailbox: if mailbox.is_empty() {
                "INBOX".into()
            } else {
                mailbox
            },
        })
    }

    fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(v) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The password: `VEILLE_BOUNCES_PASSWORD`, else `password_file`, which must be readable by
/// its owner only.
pub(crate) fn password(settings: &BounceSettings) -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("VEILLE_BOUNCES_PASSWORD")
        && !p.is_empty()
    {
        return Ok(p);
    }
    let Some(path) = &settings.password_file else {
        anyhow::bail!(
            "mot de passe de la boîte des retours absent : donnez VEILLE_BOUNCES_PASSWORD ou \
             [bounces] password_file (fichier lisible par le service seul)"
        );
    };
    let bytes = crate::secrets::read_existing(
        std::path::Path::new(path),
        "le fichier de mot de passe de la boîte des retours",
    )?;
    let text = String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!("le fichier de mot de passe {path} n'est pas du texte UTF-8")
    })?;
    Ok(text.trim_end_matches(['\r', '\n']).to_string())
}

/// The public authorities, plus those of `[bounces] ca_file` where given.
fn tls_connector(ca_file: Option<&str>) -> anyhow::Result<TlsConnector> {
    use tokio_rustls::rustls::pki_types::{CertificateDer, pem::PemObject};
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            anyhow::anyhow!("[bounces] ca_file : certificats {path} illisibles : {e}")
        })?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| {
                anyhow::anyhow!("[bounces] ca_file : {path} n'est pas un fichier PEM lisible : {e}")
            })?;
            roots.add(cert).map_err(|e| {
                anyhow::anyhow!("[bounces] ca_file : certificat refusé dans {path} : {e}")
            })?;
            added += 1;
        }
        if added == 0 {
            anyhow::bail!(
                "[bounces] ca_file : aucun certificat (« BEGIN CERTIFICATE ») dans {path}"
            );
        }
    }
    let config = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

async fn tls_wrap(
    target: &ImapTarget,
    ca_file: Option<&str>,
    tcp: TcpStream,
) -> anyhow::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let name = ServerName::try_from(target.host.clone())
        .map_err(|e| anyhow::anyhow!("nom de serveur IMAP invalide « {} » : {e}", target.host))?;
    let connector = tls_connector(ca_file)?;
    tokio::time::timeout(TIMEOUT, connector.connect(name, tcp))
        .await
        .map_err(|_| anyhow::anyhow!("TLS avec le serveur IMAP {} : pas de réponse", target.host))?
        .map_err(|e| {
            let hint = if e.to_string().contains("certificate") {
                " ; son certificat n'est pas reconnu : si une autorité interne l'a signé, \
                 donnez-la dans [bounces] ca_file = \"/chemin/ca.pem\""
            } else {
                ""
            };
            anyhow::anyhow!(
                "connexion TLS au serveur IMAP {} impossible ({e}){hint} ; veille ne se \
                 connecte pas en clair à sa place",
                target.host
            )
        })
}

/// Reads the mailbox: every message not yet processed, in UID order.
pub(crate) async fn fetch(
    ctx: &Context<'_>,
    settings: &BounceSettings,
    url: &str,
) -> anyhow::Result<FetchReport> {
    let target = ImapTarget::parse(url)?;
    let password = password(settings)?;
    let address = format!("{}:{}", target.host, target.port);
    let tcp = tokio::time::timeout(TIMEOUT, TcpStream::connect(&address))
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "serveur IMAP {address} : pas de réponse en {} s",
                TIMEOUT.as_secs()
            )
        })?
        .map_err(|e| anyhow::anyhow!("connexion au serveur IMAP {address} impossible : {e}"))?;
    if target.tls {
        let mut client = Client::new(tls_wrap(&target, settings.ca_file.as_deref(), tcp).await?);
        greeting(&mut client, &address).await?;
        return run(ctx, settings, &target, client, &password).await;
    }
    let mut client = Client::new(tcp);
    greeting(&mut client, &address).await?;
    match client.run_command_and_check_ok("STARTTLS", None).await {
        Ok(()) => {
            let tcp = client.into_inner();
            let client = Client::new(tls_wrap(&target, settings.ca_file.as_deref(), tcp).await?);
            run(ctx, settings, &target, client, &password).await
        }
        Err(e) if target.is_loopback() => {
            // Only towards this machine: a local Dovecot for the bounces needs no TLS.
            tracing::info!("{address} : pas de STARTTLS ({e}), connexion locale en clair");
            run(ctx, settings, &target, client, &password).await
        }
        Err(e) => anyhow::bail!(
            "le serveur IMAP {address} refuse STARTTLS ({e}) : veille n'y envoie pas de mot de passe en clair ; utilisez imaps://"
        ),
    }
}

async fn greeting<T>(client: &mut Client<T>, address: &str) -> anyhow::Result<()>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    tokio::time::timeout(TIMEOUT, client.read_response())
        .await
        .map_err(|_| anyhow::anyhow!("serveur IMAP {address} : pas d'accueil"))?
        .map_err(|e| anyhow::anyhow!("serveur IMAP {address} : {e}"))?
        .ok_or_else(|| anyhow::anyhow!("serveur IMAP {address} : connexion fermée à l'accueil"))?;
    Ok(())
}

async fn run<T>(
    ctx: &Context<'_>,
    settings: &BounceSettings,
    target: &ImapTarget,
    client: Client<T>,
    password: &str,
) -> anyhow::Result<FetchReport>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let mut session = client
        .login(&target.user, password)
        .await
        .map_err(|(e, _)| {
            anyhow::anyhow!(
                "connexion IMAP refusée pour {} sur {} : {e}",
                target.user,
                target.host
            )
        })?;
    let result = read_all(ctx, settings, target, &mut session).await;
    let _ = session.logout().await;
    result
}

async fn read_all<T>(
    ctx: &Context<'_>,
    settings: &BounceSettings,
    target: &ImapTarget,
    session: &mut Session<T>,
) -> anyhow::Result<FetchReport>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    // Created once; "already exists" is the usual answer afterwards.
    let _ = session.create(&settings.done_folder).await;
    session
        .select(&target.mailbox)
        .await
        .with_context(|| format!("dossier IMAP « {} » introuvable", target.mailbox))?;
    // A named centre's mark is its own: moving the message away, or one keyword for all,
    // would hide it from the other centres reading the same folder.
    let centre = ctx.store.centre();
    let (keyword, flags, mut can_move) = if centre.is_empty() {
        (
            DONE_KEYWORD.to_string(),
            format!("{DONE_KEYWORD} \\Seen"),
            true,
        )
    } else {
        let keyword = format!("{DONE_KEYWORD}-{centre}");
        (keyword.clone(), keyword, false)
    };
    let mut uids: Vec<u32> = session
        .uid_search(format!("UNKEYWORD {keyword} UNDELETED"))
        .await
        .context("recherche IMAP impossible")?
        .into_iter()
        .collect();
    uids.sort_unstable();
    let mut report = FetchReport::default();
    for uid in uids {
        let body = {
            let mut fetches = session
                .uid_fetch(uid.to_string(), "BODY.PEEK[]")
                .await
                .with_context(|| format!("lecture IMAP du message {uid} impossible"))?;
            let mut body = None;
            while let Some(item) = fetches.next().await {
                let item = item.with_context(|| format!("lecture IMAP du message {uid}"))?;
                if let Some(b) = item.body() {
                    body = Some(b.to_vec());
                }
            }
            body
        };
        let Some(body) = body else { continue };
        let processed = process(ctx, &body, chrono::Utc::now()).await?;
        report.add(format!("imap:{uid}"), processed);
        // Marked only now that its effect is committed.
        if can_move
            && session
                .uid_mv(uid.to_string(), &settings.done_folder)
                .await
                .is_ok()
        {
            continue;
        }
        can_move = false;
        let stored = session
            .uid_store(uid.to_string(), format!("+FLAGS.SILENT ({flags})"))
            .await
            .with_context(|| format!("marquage IMAP du message {uid} impossible"))?;
        stored.collect::<Vec<_>>().await;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imap_addresses() {
        let t = ImapTarget::parse("imaps://bounces%40rt.example@mail.example:993/INBOX").unwrap();
        assert_eq!(t.user, "bounces@rt.example");
        assert!(t.tls);
        assert_eq!(t.port, 993);
        assert_eq!(t.mailbox, "INBOX");
        let t = ImapTarget::parse("imap://retours@127.0.0.1:1143").unwrap();
        assert!(!t.tls && t.is_loopback());
        assert_eq!(t.mailbox, "INBOX");
        assert!(ImapTarget::parse("pop3://a@b").is_err());
        assert!(ImapTarget::parse("imaps://mail.example/INBOX").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_password_file_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        if std::env::var("VEILLE_BOUNCES_PASSWORD").is_ok() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("retours.pass");
        std::fs::write(&path, "secret\n").unwrap();
        let settings = |file: &std::path::Path| BounceSettings {
            imap: Some("imaps://retours@mail.example/INBOX".into()),
            password_file: Some(file.display().to_string()),
            ca_file: None,
            maildir: None,
            done_folder: "veille-traites".into(),
            soft_limit: 3,
            soft_editions: 2,
        };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = password(&settings(&path)).unwrap_err().to_string();
        assert!(
            e.contains("lisible par d'autres") && e.contains("chmod 600"),
            "{e}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(password(&settings(&path)).unwrap(), "secret");
        let e = password(&BounceSettings {
            password_file: None,
            ..settings(&path)
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("VEILLE_BOUNCES_PASSWORD"), "{e}");
    }
}
