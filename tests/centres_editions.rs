//! Editions of two centres on one PostgreSQL (a throwaway cluster started here), through the
//! real binary: each centre makes its own `flash-info` n° 1 from the shared stories, lists
//! only its own editions, cannot read, change, send or report the other's (« introuvable »,
//! nothing changed); the click links of one centre's sent edition neither count nor redirect
//! on the other's `veille serve`; and each centre's daemon makes its own scheduled drafts.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::daemon::RunningDaemon;
use support::server::{Route, TestServer};
use support::smtp::Sink;
use support::web::{self, Served};
use support::{Workspace, centres, rss};

/// A centre's workspace on the database at `url`: its `[centre]`, mail through `smtp` with
/// counted clicks whose links point at `base`, and its schedule.
fn centre(url: &str, id: &str, name: &str, feed: &str, smtp: &str, base: &str) -> Workspace {
    centres::centre(id, name)
        .publish(&format!("site_name = \"{name}\"\nbase_url = \"{base}\"\n"))
        .tables(&format!(
            "[mail]\nfrom = \"{name} <lettre@{id}.example>\"\nsmtp = \"{smtp}\"\n\
             per_second = 500\ncount_clicks = true\n\n\
             [schedule]\npoll = \"0 * * * *\"\npanoramas = []\n\n\
             [lists.flash-info]\ntitle = \"Flash Info\"\n\n"
        ))
        .feed(feed)
        .on(url)
}

/// A feed of two stories, linking to `/a/1.html` and `/a/2.html` on `server`.
fn two_stories(server: &TestServer) -> String {
    let feed = rss(&[
        (
            "Le pacte des solidarités présenté à Matignon",
            &server.url("/a/1.html"),
            "pacte",
        ),
        (
            "Le non-recours aux droits recule en Occitanie",
            &server.url("/a/2.html"),
            "recours",
        ),
    ]);
    server.route("/feed.xml", Route::rss(feed));
    server.url("/feed.xml")
}

/// The story of the article at `link`.
fn story_at(ws: &Workspace, link: &str) -> String {
    ws.articles()
        .iter()
        .find(|a| a["url"].as_str() == Some(link))
        .unwrap_or_else(|| panic!("pas d'article {link} : {:#?}", ws.articles()))["story"]
        .as_i64()
        .expect("story")
        .to_string()
}

/// `flash-info/1` of a centre with `story`, rendered and marked ready.
fn ready_flash_info(ws: &Workspace, story: &str) {
    let made = ws.json(&["edition", "new", "flash-info", "--json"]);
    assert_eq!(made["number"], 1, "{made:#}");
    ws.json(&["edition", "add", "flash-info/1", story, "--json"]);
    ws.json(&["edition", "render", "flash-info/1", "--json"]);
    let out = ws.run(&["edition", "ready", "flash-info/1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The centre's editions as `kind/number` and its stories, from `veille edition list/show`.
fn editions(ws: &Workspace) -> Vec<(String, Vec<i64>)> {
    let list = ws.json(&["edition", "list", "--json"]);
    list.as_array()
        .expect("liste des éditions")
        .iter()
        .map(|e| {
            let address = format!("{}/{}", e["kind"].as_str().unwrap(), e["number"]);
            let shown = ws.json(&["edition", "show", &address, "--json"]);
            let items = shown["items"]
                .as_array()
                .unwrap_or_else(|| panic!("pas d'articles : {shown:#}"))
                .iter()
                .map(|i| i["story"].as_i64().unwrap())
                .collect();
            (address, items)
        })
        .collect()
}

/// Every command of `ws` naming `address`, which is another centre's edition: each fails
/// with « édition introuvable ».
fn refused_everywhere(ws: &Workspace, address: &str, story: &str) {
    for args in [
        vec!["edition", "show", address],
        vec!["edition", "add", address, story],
        vec!["edition", "remove", address, story],
        vec!["edition", "render", address],
        vec!["edition", "ready", address],
        vec!["edition", "draft", address],
        vec!["edition", "send", address],
        vec!["edition", "report", address],
    ] {
        let out = ws.run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "veille {args:?} a réussi");
        assert!(
            stderr.contains(&format!("édition introuvable : {address}")),
            "veille {args:?} : {stderr}"
        );
    }
}

#[test]
fn two_centres_each_make_send_and_count_their_own_flash_info() {
    let (_pg, url) = centres::shared_database("centres_editions");
    let sink = Sink::start(&[]);
    let server = TestServer::start();
    let feed = two_stories(&server);
    let (rt_port, labo_port) = (web::free_port(), web::free_port());
    let base = |port| format!("http://127.0.0.1:{port}");
    let rt = centre(&url, "rt", "R&T", &feed, &sink.url(), &base(rt_port));
    let labo = centre(
        &url,
        "labo",
        "Labo Cités",
        &feed,
        &sink.url(),
        &base(labo_port),
    );
    rt.fetch(&[]);
    // Sources, articles and stories are shared.
    let (pacte, recours) = (
        story_at(&labo, &server.url("/a/1.html")),
        story_at(&labo, &server.url("/a/2.html")),
    );
    ready_flash_info(&rt, &pacte);
    ready_flash_info(&labo, &recours);
    // R&T's second edition, which Labo does not have.
    rt.json(&["edition", "new", "flash-info", "--json"]);
    rt.json(&["edition", "add", "flash-info/2", &pacte, "--json"]);
    let pacte_n: i64 = pacte.parse().unwrap();
    let recours_n: i64 = recours.parse().unwrap();
    let rt_editions = vec![
        ("flash-info/1".to_string(), vec![pacte_n]),
        ("flash-info/2".to_string(), vec![pacte_n]),
    ];
    assert_eq!(editions(&rt), rt_editions);
    assert_eq!(
        editions(&labo),
        [("flash-info/1".to_string(), vec![recours_n])]
    );
    let text = String::from_utf8_lossy(&labo.run(&["edition", "list"]).stdout).into_owned();
    assert!(text.contains("1 édition"), "{text}");

    // Labo naming R&T's edition: « introuvable », and R&T's edition is as it was.
    let before = rt.json(&["edition", "show", "flash-info/2", "--json"]);
    refused_everywhere(&labo, "flash-info/2", &recours);
    assert_eq!(
        rt.json(&["edition", "show", "flash-info/2", "--json"]),
        before
    );
    assert_eq!(editions(&rt), rt_editions);

    // R&T sends its flash-info/1: the mail carries counted links to R&T's serve.
    rt.import_subscribers("Nom;Courriel\nHélène;helene@exemple.fr\n");
    let report = rt.json(&["edition", "send", "flash-info/1", "--json"]);
    assert_eq!(report["sent"], 1, "{report:#}");
    let clicks = rt.json(&["edition", "report", "flash-info/1", "--json"])["clicks"].clone();
    let article = server.url("/a/1.html");
    let link = clicks
        .as_array()
        .expect("clics")
        .iter()
        .find(|c| c["url"] == article.as_str())
        .unwrap_or_else(|| panic!("lien de l'article absent : {clicks:#}"))["link"]
        .clone();
    let path = format!("/c/flash-info/1/{link}");

    // Labo's serve: R&T's link is none of Labo's (its own flash-info/1 was never sent).
    let labo_served = Served::start(&labo, labo_port);
    for _ in 0..2 {
        let r = labo_served.get(&path, &[]);
        assert_eq!(r.status, 404, "{}", r.text());
        assert!(r.text().contains("Lien inconnu"), "{}", r.text());
        assert_eq!(r.header("location"), None);
    }
    let rt_served = Served::start(&rt, rt_port);
    let r = rt_served.get(&path, &[]);
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some(article.as_str()));
    let counted = |ws: &Workspace| -> Vec<Value> {
        ws.json(&["edition", "report", "flash-info/1", "--json"])["clicks"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let rt_clicks = counted(&rt);
    let followed = rt_clicks.iter().find(|c| c["link"] == link).unwrap();
    assert_eq!(followed["clicks"], 1, "{rt_clicks:#?}");
    assert!(counted(&labo).is_empty());
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(c, e)| (c.to_string(), e.to_string()))
            .collect()
    };
    assert_eq!(
        owners(&rt, "editions"),
        pairs(&[
            ("labo", "flash-info/1"),
            ("rt", "flash-info/1"),
            ("rt", "flash-info/2")
        ])
    );
    assert_eq!(
        owners(&rt, "edition_links"),
        pairs(&[("rt", "flash-info/1")])
    );
    // Labo's own edition is still ready, not sent by R&T's send.
    let labo_one = labo.json(&["edition", "list", "--json"]);
    assert_eq!(labo_one[0]["status"], "ready", "{labo_one:#}");
}

/// The database's rows of `table` as (centre, kind/number), whoever they belong to: what no
/// single centre's command shows.
fn owners(ws: &Workspace, table: &str) -> Vec<(String, String)> {
    let sql =
        format!("SELECT DISTINCT centre, kind, number FROM {table} ORDER BY centre, kind, number");
    let rows: Vec<(String, String, i64)> =
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            let db = ws.db().await;
            crate::on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await
                .unwrap())
        });
    rows.into_iter()
        .map(|(centre, kind, number)| (centre, format!("{kind}/{number}")))
        .collect()
}

fn daemon(ws: &Workspace, clock: &str) -> RunningDaemon {
    let mut command = ws.command(&["run"]);
    command.env("VEILLE_TEST_CLOCK", clock);
    RunningDaemon::start(command)
}

#[test]
fn each_centres_daemon_makes_its_own_drafts() {
    let (_pg, url) = centres::shared_database("centres_drafts");
    let server = TestServer::start();
    let feed = two_stories(&server);
    // No mail is sent here: an address nothing listens on.
    let smtp = "smtp://127.0.0.1:9";
    let rt = centre(&url, "rt", "R&T", &feed, smtp, "http://127.0.0.1:9");
    let labo = centre(
        &url,
        "labo",
        "Labo Cités",
        &feed,
        smtp,
        "http://127.0.0.1:9",
    );
    // Both daemons at once, over 1 July 08:00 (20 minutes in compressed time): each drafts
    // the editions of the period for itself.
    let clock = "2025-07-01T07:50:00+02:00..2025-07-01T08:10:00+02:00";
    let mut daemons = [daemon(&rt, clock), daemon(&labo, clock)];
    for d in &mut daemons {
        for kind in ["flash-info", "lettre-pauvrete"] {
            d.wait_for_log(
                &format!("édition à préparer : {kind}/1"),
                Duration::from_secs(60),
            );
        }
    }
    for d in &mut daemons {
        assert!(d.stop().success(), "{}", d.log());
    }
    for ws in [&rt, &labo] {
        let status = ws.json(&["status", "--json"]);
        let reminders: Vec<String> = status["reminders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| format!("{}/{}", r["kind"].as_str().unwrap(), r["number"]))
            .collect();
        assert_eq!(
            reminders,
            ["flash-info/1", "lettre-pauvrete/1"],
            "{status:#}"
        );
        // The job book is the centre's: each daemon ran its own drafts once.
        let draft = status["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["name"] == "draft:flash-info")
            .unwrap_or_else(|| panic!("pas de tâche draft:flash-info : {status:#}"));
        assert_eq!(draft["runs"], 1, "{status:#}");
        let listed: Vec<String> = editions(ws).into_iter().map(|(a, _)| a).collect();
        assert_eq!(listed, ["flash-info/1", "lettre-pauvrete/1"]);
    }
    // Two drafts per period, one per centre, where one centre's daemon once found the
    // other's and made none.
    let owned: Vec<(String, String)> = [("labo", "flash-info/1"), ("labo", "lettre-pauvrete/1")]
        .into_iter()
        .chain([("rt", "flash-info/1"), ("rt", "lettre-pauvrete/1")])
        .map(|(c, e)| (c.to_string(), e.to_string()))
        .collect();
    assert_eq!(owners(&rt, "editions"), owned);
}
