//! `moments-bench stores`: the trigger path (fresh key per request) on each of the mock's stores side
//! by side in one run: in memory, SQLite, PostgreSQL with one instance, PostgreSQL with two
//! instances sharing one database and serving the same sandbox (the load split between them: one wrk
//! per instance, each with half the connections), and PostgreSQL with two instances on one database
//! serving a tenant each (tenant A created through the first, tenant B through the second, each
//! instance's wrk loading its own tenant under `/t/ID`: a tenant is a sandbox of its own, with its own
//! log and row lock, so this is how a shared sandbox used by several teams scales across instances,
//! where the same sandbox on two serializes on its one lock). For each: triggers/s, p50/p99, non-2xx
//! answers (any fails the run), CPU of the mock(s) and of the PostgreSQL server per 1,000 triggers,
//! and each as a ratio to the in-memory row. Then, where the time goes on PostgreSQL: one more short
//! load per PostgreSQL layout with `pg_stat_activity` sampled every 100 ms.
//!
//! PostgreSQL is the server `MOMENTS_TEST_POSTGRES` names (`cargo xtask bench stores` starts a
//! throwaway one on this machine); each load gets a fresh database on it, dropped at the end.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::pgmon::{self, Psql};
use crate::procs::Server;
use crate::scenarios::Scenario;
use crate::setup;
use crate::wrk::{Load, LoadResult};

/// The environment variable naming the PostgreSQL server (`postgres://user@host:port/database`).
pub const POSTGRES_ENV: &str = "MOMENTS_TEST_POSTGRES";

/// How often `pg_stat_activity` is sampled during the wait loads.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);

pub struct Options {
    pub seconds: u32,
    pub connections: u32,
    /// Length of each `pg_stat_activity` sampling load.
    pub waits_seconds: u32,
    pub mock_bin: PathBuf,
    /// The PostgreSQL server (any database of it: each load creates its own).
    pub postgres: String,
    pub out: PathBuf,
    /// The layouts to load, in the report's order (`--layouts`; all by default).
    pub layouts: Vec<Layout>,
}

/// Every layout, in the report's order.
pub const LAYOUTS: [Layout; 5] = [
    Layout::Memory,
    Layout::Sqlite,
    Layout::Postgres,
    Layout::Postgres2,
    Layout::PostgresTenants,
];

/// The layouts named in `list` (`mem,sqlite,pg1,pg2,pg2t`), in the report's order.
pub fn parse_layouts(list: &str) -> Result<Vec<Layout>, String> {
    let tags: Vec<&str> = list.split(',').map(str::trim).collect();
    if let Some(bad) = tags
        .iter()
        .find(|t| !LAYOUTS.iter().any(|l| l.tag() == **t))
    {
        return Err(format!(
            "--layouts: unknown layout `{bad}` (known: {})",
            LAYOUTS.map(|l| l.tag()).join(", ")
        ));
    }
    Ok(LAYOUTS
        .into_iter()
        .filter(|l| tags.contains(&l.tag()))
        .collect())
}

/// A store layout under test.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Layout {
    Memory,
    Sqlite,
    Postgres,
    /// Two instances on one PostgreSQL database, both serving its root sandbox.
    Postgres2,
    /// Two instances on one PostgreSQL database, each serving a tenant of its own (created through it).
    PostgresTenants,
}

impl Layout {
    fn label(self) -> &'static str {
        match self {
            Layout::Memory => "memory",
            Layout::Sqlite => "SQLite",
            Layout::Postgres => "PostgreSQL, one instance",
            Layout::Postgres2 => "PostgreSQL, two instances on one database",
            Layout::PostgresTenants => "PostgreSQL, two instances, a tenant each",
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Layout::Memory => "mem",
            Layout::Sqlite => "sqlite",
            Layout::Postgres => "pg1",
            Layout::Postgres2 => "pg2",
            Layout::PostgresTenants => "pg2t",
        }
    }

    fn instances(self) -> usize {
        match self {
            Layout::Postgres2 | Layout::PostgresTenants => 2,
            Layout::Memory | Layout::Sqlite | Layout::Postgres => 1,
        }
    }

    fn postgres(self) -> bool {
        matches!(
            self,
            Layout::Postgres | Layout::Postgres2 | Layout::PostgresTenants
        )
    }

    /// Whether each instance serves a tenant of its own (else all serve the root sandbox).
    fn tenants(self) -> bool {
        self == Layout::PostgresTenants
    }
}

/// PostgreSQL's own counters over a load (`pg_stat_database` of its database, `pg_stat_wal`).
#[derive(Clone, Copy, Default)]
struct PgCounters {
    commits: i64,
    rollbacks: i64,
    wal_records: i64,
    wal_bytes: i64,
    wal_syncs: i64,
}

impl PgCounters {
    fn read(psql: &mut Psql, db: &str) -> Result<PgCounters, String> {
        let rows = psql.query(&format!(
            "SELECT d.xact_commit, d.xact_rollback, w.wal_records, w.wal_bytes, w.wal_sync \
             FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = '{db}'"
        ))?;
        let r = rows
            .first()
            .ok_or_else(|| format!("no statistics for database {db}"))?;
        let n = |i: usize| -> Result<i64, String> {
            r.get(i)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("unreadable statistics of {db}: {r:?}"))
        };
        Ok(PgCounters {
            commits: n(0)?,
            rollbacks: n(1)?,
            wal_records: n(2)?,
            wal_bytes: n(3)?,
            wal_syncs: n(4)?,
        })
    }

    fn minus(self, before: PgCounters) -> PgCounters {
        PgCounters {
            commits: self.commits - before.commits,
            rollbacks: self.rollbacks - before.rollbacks,
            wal_records: self.wal_records - before.wal_records,
            wal_bytes: self.wal_bytes - before.wal_bytes,
            wal_syncs: self.wal_syncs - before.wal_syncs,
        }
    }
}

/// One layout's measured load.
struct Measured {
    layout: Layout,
    /// One per instance (each its own wrk).
    loads: Vec<LoadResult>,
    /// CPU of the mock process(es), clock ticks of 10 ms.
    mock_ticks: Option<u64>,
    /// CPU of the PostgreSQL server's processes, clock ticks of 10 ms.
    pg_ticks: Option<u64>,
    pg: Option<PgCounters>,
    /// Rewards the load's campaign(s) issued (their spend, 1 cent each; a tenant each: summed over
    /// the tenants), read after the load.
    rewards: u64,
    /// The share of all the machine's CPU time that was busy during the load (every process:
    /// the mocks, PostgreSQL, wrk and anything else running).
    machine_busy: Option<f64>,
}

impl Measured {
    fn rate(&self) -> f64 {
        self.loads.iter().map(|l| l.requests_per_sec).sum()
    }

    fn requests(&self) -> u64 {
        self.loads.iter().map(|l| l.requests).sum()
    }

    fn errors(&self) -> u64 {
        self.loads.iter().map(|l| l.non_2xx + l.socket_errors).sum()
    }

    fn worst_p99(&self) -> f64 {
        self.loads.iter().map(|l| l.p99_ms).fold(0.0, f64::max)
    }

    /// CPU seconds per 1,000 answered triggers.
    fn per_1000(&self, ticks: Option<u64>) -> Option<f64> {
        let requests = self.requests();
        ticks
            .filter(|_| requests > 0)
            .map(|t| t as f64 * 10.0 / requests as f64)
    }

    fn total_per_1000(&self) -> Option<f64> {
        let mock = self.per_1000(self.mock_ticks)?;
        Some(mock + self.per_1000(self.pg_ticks).unwrap_or(0.0))
    }
}

/// What `pg_stat_activity` showed during a sampling load.
struct Waits {
    layout: Layout,
    seconds: u32,
    samples: u32,
    /// Triggers per second of the sampling load (all instances).
    rate: f64,
    errors: u64,
    /// (role, state, wait event, statement) → connections seen in it, summed over the samples.
    seen: BTreeMap<(String, String, String, String), u64>,
    /// Samples in which a write transaction was open.
    with_write: u32,
}

/// The server side of the run: the monitor session and the databases it created.
struct Pg {
    psql: Psql,
    url: String,
    postmaster: Option<u32>,
    version: String,
    settings: String,
    created: Vec<String>,
    force_drop: bool,
}

impl Pg {
    fn connect(url: &str) -> Result<Pg, String> {
        let mut psql = Psql::connect(url)?;
        let backend: u32 = psql
            .value("SELECT pg_backend_pid()")?
            .parse()
            .map_err(|e| format!("pg_backend_pid: {e}"))?;
        let version = psql.value("SHOW server_version")?;
        let number: u32 = psql.value("SHOW server_version_num")?.parse().unwrap_or(0);
        let settings = psql
            .query(
                "SELECT name || ' = ' || setting FROM pg_settings WHERE name IN \
                 ('fsync', 'synchronous_commit', 'wal_sync_method', 'shared_buffers', 'max_connections') \
                 ORDER BY name",
            )?
            .into_iter()
            .filter_map(|r| r.into_iter().next())
            .collect::<Vec<_>>()
            .join(", ");
        Ok(Pg {
            postmaster: pgmon::postmaster_of(backend),
            psql,
            url: url.to_owned(),
            version,
            settings,
            created: Vec::new(),
            force_drop: number >= 130_000,
        })
    }

    /// A fresh database; returns its URL.
    fn create(&mut self, name: &str) -> Result<String, String> {
        self.drop_database(name)?;
        self.psql.query(&format!("CREATE DATABASE {name}"))?;
        self.created.push(name.to_owned());
        Ok(pgmon::with_database(&self.url, name))
    }

    fn drop_database(&mut self, name: &str) -> Result<(), String> {
        let force = if self.force_drop { " WITH (FORCE)" } else { "" };
        self.psql
            .query(&format!("DROP DATABASE IF EXISTS {name}{force}"))
            .map(|_| ())
    }

    fn cpu_ticks(&self) -> Option<u64> {
        pgmon::server_cpu_ticks(self.postmaster?)
    }

    /// Drops every database this run created.
    fn clean_up(&mut self) {
        for name in std::mem::take(&mut self.created) {
            if let Err(e) = self.drop_database(&name) {
                eprintln!("moments-bench: drop database {name}: {e}");
            }
        }
    }
}

/// Runs every layout, then the sampling loads, and writes the report.
pub fn run(opts: &Options) -> Result<(), String> {
    if !opts.mock_bin.exists() {
        return Err(format!(
            "{} not found: run `cargo build --release -p moments-mock-server` first",
            opts.mock_bin.display()
        ));
    }
    if opts.connections < 2 {
        return Err("--connections must be at least 2 (the two-instance load splits them)".into());
    }
    let work = crate::target_dir().join("bench");
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    if let Some(dir) = opts.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let load_before = load_average();
    let mut pg = Pg::connect(&opts.postgres)?;
    let result = measure_all(opts, &work, &mut pg);
    pg.clean_up();
    let (rows, waits) = result?;
    let load_after = load_average();
    let report = render(opts, &pg, &rows, &waits, &load_before, &load_after);
    print!("{report}");
    std::fs::write(&opts.out, &report).map_err(|e| e.to_string())?;
    eprintln!("report written to {}", opts.out.display());
    let failed: Vec<&str> = rows
        .iter()
        .filter(|r| r.errors() > 0)
        .map(|r| r.layout.label())
        .chain(
            waits
                .iter()
                .filter(|w| w.errors > 0)
                .map(|w| w.layout.label()),
        )
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "non-2xx answers or socket errors under load ({}): those rows measured something else \
             than the trigger path",
            failed.join("; ")
        ))
    }
}

fn measure_all(
    opts: &Options,
    work: &Path,
    pg: &mut Pg,
) -> Result<(Vec<Measured>, Vec<Waits>), String> {
    let run = std::process::id().to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for &layout in &opts.layouts {
        eprintln!(
            "== {}: {} s at {} connections",
            layout.label(),
            opts.seconds,
            opts.connections
        );
        let row = measure(opts, work, pg, &rt, &run, layout)?;
        for (i, l) in row.loads.iter().enumerate() {
            eprintln!(
                "   instance {}: {:.0} triggers/s, p50 {:.2} ms, p99 {:.2} ms, non-2xx {}, socket errors {}",
                i + 1,
                l.requests_per_sec,
                l.p50_ms,
                l.p99_ms,
                l.non_2xx,
                l.socket_errors
            );
        }
        rows.push(row);
    }
    let mut waits = Vec::new();
    let sampled = opts
        .layouts
        .iter()
        .filter(|l| !matches!(l, Layout::Memory | Layout::Sqlite));
    for &layout in sampled.filter(|_| opts.waits_seconds > 0) {
        eprintln!(
            "== where the time goes: {}, {} s, pg_stat_activity every {} ms",
            layout.label(),
            opts.waits_seconds,
            SAMPLE_EVERY.as_millis()
        );
        waits.push(sample_waits(opts, work, pg, &rt, &run, layout)?);
    }
    Ok((rows, waits))
}

/// The running mocks of one layout, set up, and the trigger script of each.
struct Prepared {
    mocks: Vec<Server>,
    scripts: Vec<PathBuf>,
    /// The campaign(s) the load triggers, each with the base URL to read it at: the root sandbox's
    /// one on the first instance, or each tenant's on the instance that serves it.
    campaigns: Vec<(String, setup::BenchCampaign)>,
    db: Option<String>,
    sqlite: Option<PathBuf>,
}

impl Drop for Prepared {
    fn drop(&mut self) {
        // Stop the mocks before their SQLite file goes.
        self.mocks.clear();
        if let Some(file) = &self.sqlite {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
    }
}

/// Starts the layout's mock(s) on a fresh store, puts the fixtures and a campaign of its own in it
/// (through the first instance; the others apply them from the log) and writes each instance's
/// trigger script (keys, customers and devices of its own). A tenant each: each instance creates a
/// tenant, puts the fixtures and a campaign in it, and its script loads that tenant; no instance
/// hears of the other's tenant.
fn prepare(
    opts: &Options,
    work: &Path,
    pg: &mut Pg,
    rt: &tokio::runtime::Runtime,
    run: &str,
    layout: Layout,
    purpose: &str,
) -> Result<Prepared, String> {
    let mut sqlite = None;
    let mut db = None;
    let store = match layout {
        Layout::Memory => "memory".to_owned(),
        Layout::Sqlite => {
            let file = work.join(format!("stores-{run}-{purpose}.sqlite"));
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
            let spec = format!("sqlite:{}", file.display());
            sqlite = Some(file);
            spec
        }
        Layout::Postgres | Layout::Postgres2 | Layout::PostgresTenants => {
            let name = format!("bench_{run}_{}_{purpose}", layout.tag());
            let url = pg.create(&name)?;
            db = Some(name);
            url
        }
    };
    let mut prepared = Prepared {
        mocks: Vec::new(),
        scripts: Vec::new(),
        campaigns: Vec::new(),
        db,
        sqlite,
    };
    // The admin key creates the tenants (a shared sandbox needs one; the other layouts make none).
    let admin_key = format!("bench-admin-{run}");
    for i in 0..layout.instances() {
        let mut cmd = Command::new(&opts.mock_bin);
        cmd.args(["--port", "0", "--store", &store]);
        if layout.tenants() {
            cmd.args(["--admin-key", &admin_key]);
        }
        let name = format!("moments mock ({}, instance {})", layout.tag(), i + 1);
        prepared.mocks.push(Server::start(&name, cmd, None)?);
    }
    if layout.tenants() {
        for (i, mock) in prepared.mocks.iter().enumerate() {
            // Tenant `a` through the first instance, `b` through the second: each set up and loaded
            // through the instance that created it.
            let id = format!("bench-{}", char::from(b'a' + i as u8));
            let tenant = rt.block_on(setup::new_tenant(&mock.url, &admin_key, &id))?;
            let tag = format!("{run}-{}-{purpose}-{}", layout.tag(), tenant.id);
            let mut fixture = rt.block_on(setup::prepare_in(
                &tenant.base,
                &tenant.secret_key,
                &tag,
                work,
            ))?;
            let campaign = rt.block_on(setup::new_campaign_in(
                &tenant.base,
                &tenant.secret_key,
                &tag,
            ))?;
            fixture.secret_key = campaign.secret_key.clone();
            fixture.campaign_id = campaign.id.clone();
            prepared
                .scripts
                .push(trigger_script(work, layout, purpose, i, &fixture, &tag)?);
            prepared.campaigns.push((tenant.base, campaign));
        }
        return Ok(prepared);
    }
    let first = prepared.mocks[0].url.clone();
    let mut fixture = rt.block_on(setup::prepare(&first, run, work))?;
    // A campaign of its own, as the load mode gives each trigger load: its budget covers 500,000 rewards.
    let campaign = rt.block_on(setup::new_campaign(&first, run))?;
    fixture.secret_key = campaign.secret_key.clone();
    fixture.campaign_id = campaign.id.clone();
    for (i, mock) in prepared.mocks.iter().enumerate() {
        // A read on each instance applies what the first one wrote (and proves the campaign is there).
        rt.block_on(setup::rewards_issued(
            &mock.url,
            std::slice::from_ref(&campaign),
        ))?;
        let tag = format!("{run}-{}-{purpose}-{}", layout.tag(), i + 1);
        prepared
            .scripts
            .push(trigger_script(work, layout, purpose, i, &fixture, &tag)?);
    }
    prepared.campaigns.push((first, campaign));
    Ok(prepared)
}

/// Writes instance `i`'s trigger script: `fixture`'s campaign, keys and customers tagged `tag`.
fn trigger_script(
    work: &Path,
    layout: Layout,
    purpose: &str,
    i: usize,
    fixture: &crate::scenarios::Fixture,
    tag: &str,
) -> Result<PathBuf, String> {
    super::write_script(
        work,
        &format!("stores_{}_{purpose}_{}", layout.tag(), i + 1),
        &Scenario::Trigger.script(fixture, tag),
    )
}

/// Runs one wrk per instance at once (the connections split between them; 2 wrk threads in all)
/// for `seconds`.
fn load_all(
    prepared: &Prepared,
    connections: u32,
    seconds: u32,
) -> Result<Vec<LoadResult>, String> {
    let n = prepared.mocks.len() as u32;
    let threads = (2 / n).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = prepared
            .mocks
            .iter()
            .zip(&prepared.scripts)
            .enumerate()
            .map(|(i, (mock, script))| {
                // The first instances take the odd connection out.
                let c = connections / n + u32::from((i as u32) < connections % n);
                s.spawn(move || {
                    Load {
                        url: &mock.url,
                        connections: c,
                        threads,
                        seconds,
                        script: Some(script),
                    }
                    .run()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| "a wrk thread panicked".to_string())?)
            .collect()
    })
}

fn mock_ticks(mocks: &[Server]) -> Option<u64> {
    mocks.iter().map(Server::cpu_ticks).sum()
}

fn measure(
    opts: &Options,
    work: &Path,
    pg: &mut Pg,
    rt: &tokio::runtime::Runtime,
    run: &str,
    layout: Layout,
) -> Result<Measured, String> {
    let prepared = prepare(opts, work, pg, rt, run, layout, "load")?;
    let counters_before = match &prepared.db {
        Some(db) => Some(PgCounters::read(&mut pg.psql, db)?),
        None => None,
    };
    let mock_before = mock_ticks(&prepared.mocks);
    let pg_before = pg.cpu_ticks();
    let machine_before = crate::procs::machine_ticks();
    let loads = load_all(&prepared, opts.connections, opts.seconds)?;
    let machine_after = crate::procs::machine_ticks();
    let mock_after = mock_ticks(&prepared.mocks);
    let pg_after = pg.cpu_ticks();
    let mut rewards = 0;
    for (base, campaign) in &prepared.campaigns {
        rewards += rt.block_on(setup::rewards_issued(base, std::slice::from_ref(campaign)))?;
    }
    let pg_counters = match (&prepared.db, counters_before) {
        (Some(db), Some(before)) => {
            // Backends report their counts at most once a second.
            std::thread::sleep(Duration::from_millis(2_500));
            Some(PgCounters::read(&mut pg.psql, db)?.minus(before))
        }
        _ => None,
    };
    let diff = |a: Option<u64>, b: Option<u64>| Some(a?.saturating_sub(b?));
    Ok(Measured {
        layout,
        loads,
        mock_ticks: diff(mock_after, mock_before),
        pg_ticks: if layout.postgres() {
            diff(pg_after, pg_before)
        } else {
            None
        },
        pg: pg_counters,
        rewards,
        machine_busy: match (machine_before, machine_after) {
            (Some((b0, a0)), Some((b1, a1))) if a1 > a0 => {
                Some((b1 - b0) as f64 / (a1 - a0) as f64)
            }
            _ => None,
        },
    })
}

/// The sampling query: every client connection of `db` but the sampler's, by what it does. The
/// mock's write transaction is known by its state or its statements (`mock-server/src/store/postgres.rs`;
/// `SELECT seq …` reads the log both inside one, with a transaction id, and alone, to catch up);
/// anything else runs alone (idempotency claims and unlocks, catch-up reads, webhook claims).
fn activity_query(db: &str) -> String {
    format!(
        "SELECT CASE WHEN state = 'idle' THEN 'idle in the pool' \
                     WHEN state = 'idle in transaction' THEN 'write transaction' \
                     WHEN query LIKE 'SELECT seq%' THEN \
                          CASE WHEN backend_xid IS NULL THEN 'statement alone' ELSE 'write transaction' END \
                     WHEN query ~ '^(BEGIN|COMMIT|ROLLBACK|SELECT head |WITH appended |INSERT INTO idempotency |SELECT i.scope)' \
                          THEN 'write transaction' \
                     ELSE 'statement alone' END, \
                coalesce(state, ''), \
                coalesce(wait_event_type || '/' || wait_event, ''), \
                CASE WHEN state = 'idle' THEN '' \
                     ELSE left(regexp_replace(query, '\\s+', ' ', 'g'), 36) END, \
                count(*) \
         FROM pg_stat_activity \
         WHERE datname = '{db}' AND backend_type = 'client backend' AND pid <> pg_backend_pid() \
         GROUP BY 1, 2, 3, 4"
    )
}

fn sample_waits(
    opts: &Options,
    work: &Path,
    pg: &mut Pg,
    rt: &tokio::runtime::Runtime,
    run: &str,
    layout: Layout,
) -> Result<Waits, String> {
    let prepared = prepare(opts, work, pg, rt, run, layout, "waits")?;
    let query = activity_query(prepared.db.as_deref().expect("a PostgreSQL layout"));
    let mut waits = Waits {
        layout,
        seconds: opts.waits_seconds,
        samples: 0,
        rate: 0.0,
        errors: 0,
        seen: BTreeMap::new(),
        with_write: 0,
    };
    let loads = std::thread::scope(|s| -> Result<Vec<LoadResult>, String> {
        let load = s.spawn(|| load_all(&prepared, opts.connections, opts.waits_seconds));
        // wrk connects and starts within a few ms; samples are taken until it ends.
        let mut next = Instant::now() + SAMPLE_EVERY;
        while !load.is_finished() {
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
            next += SAMPLE_EVERY;
            if load.is_finished() {
                break;
            }
            let rows = pg.psql.query(&query)?;
            waits.samples += 1;
            let mut write = false;
            for r in rows {
                let [role, state, wait, statement, count] = &r[..] else {
                    return Err(format!("unreadable pg_stat_activity row: {r:?}"));
                };
                let count: u64 = count.parse().map_err(|e| format!("count {count}: {e}"))?;
                write |= role == "write transaction" && count > 0;
                *waits
                    .seen
                    .entry((role.clone(), state.clone(), wait.clone(), statement.clone()))
                    .or_default() += count;
            }
            waits.with_write += u32::from(write);
        }
        load.join()
            .map_err(|_| "the wrk thread panicked".to_string())?
    })?;
    waits.rate = loads.iter().map(|l| l.requests_per_sec).sum();
    waits.errors = loads.iter().map(|l| l.non_2xx + l.socket_errors).sum();
    Ok(waits)
}

/// `/proc/loadavg`'s three averages.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".into(), |v| format!("{v:.digits$}"))
}

fn render(
    opts: &Options,
    pg: &Pg,
    rows: &[Measured],
    waits: &[Waits],
    load_before: &str,
    load_after: &str,
) -> String {
    let mut out = String::new();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let _ = writeln!(
        out,
        "# moments-bench stores — trigger (fresh key), {} connections, {} s per store, wrk (2 threads in all) on the same machine\n",
        opts.connections, opts.seconds
    );
    let _ = writeln!(
        out,
        "- machine: {cpus} CPUs; load average (1, 5, 15 min) before the run {load_before}, after {load_after}"
    );
    let _ = writeln!(
        out,
        "- PostgreSQL {} on this machine: {}",
        pg.version, pg.settings
    );
    let _ = writeln!(
        out,
        "- mock: {}; SQLite and each PostgreSQL load on a fresh file or database",
        opts.mock_bin.display()
    );
    let _ = writeln!(
        out,
        "- two instances: one wrk per instance at once, {} connections each; triggers/s is their sum, p50 and p99 are each one's",
        opts.connections / 2
    );
    let _ = writeln!(
        out,
        "- two instances on one database: both serve the same sandbox, whose writes serialize on its one row lock"
    );
    let _ = writeln!(
        out,
        "- two instances, a tenant each: the same two instances on one database, but tenant A created through the first \
         and tenant B through the second, and each instance's wrk loads its own tenant (`/t/ID/v1/triggers`), so \
         each instance only loads the tenant it serves. A tenant is a sandbox of its own, with its own log and its \
         own row lock: the layout in which a second instance can add capacity. Rewards are \
         counted per tenant and summed\n"
    );
    let _ = writeln!(
        out,
        "| store | triggers/s | p50 ms | p99 ms | non-2xx | socket errors | mock CPU s / 1,000 triggers | PostgreSQL CPU s / 1,000 triggers | machine CPU busy |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let each = |r: &Measured, f: fn(&LoadResult) -> String| {
        r.loads.iter().map(f).collect::<Vec<_>>().join(" / ")
    };
    for r in rows {
        let rate = if r.loads.len() > 1 {
            format!(
                "{:.0} ({})",
                r.rate(),
                each(r, |l| format!("{:.0}", l.requests_per_sec))
            )
        } else {
            format!("{:.0}", r.rate())
        };
        let _ = writeln!(
            out,
            "| {} | {rate} | {} | {} | {} | {} | {} | {} | {} |",
            r.layout.label(),
            each(r, |l| format!("{:.2}", l.p50_ms)),
            each(r, |l| format!("{:.2}", l.p99_ms)),
            each(r, |l| l.non_2xx.to_string()),
            each(r, |l| l.socket_errors.to_string()),
            fmt_opt(r.per_1000(r.mock_ticks), 3),
            fmt_opt(r.per_1000(r.pg_ticks), 3),
            r.machine_busy
                .map_or("–".into(), |b| format!("{:.0} %", b * 100.0)),
        );
    }

    let memory = rows.iter().find(|r| r.layout == Layout::Memory);
    if let Some(m) = memory {
        let _ = writeln!(out, "\n## Ratios to the in-memory store (same run)\n");
        let _ = writeln!(
            out,
            "| store | triggers/s | p50 | p99 (the worse instance's) | mock CPU per trigger | mock + PostgreSQL CPU per trigger |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
            _ => "–".into(),
        };
        let worst_p50 = |r: &Measured| r.loads.iter().map(|l| l.p50_ms).fold(0.0, f64::max);
        for r in rows.iter().filter(|r| r.layout != Layout::Memory) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                r.layout.label(),
                ratio(Some(r.rate()), Some(m.rate())),
                ratio(Some(worst_p50(r)), Some(worst_p50(m))),
                ratio(Some(r.worst_p99()), Some(m.worst_p99())),
                ratio(r.per_1000(r.mock_ticks), m.per_1000(m.mock_ticks)),
                ratio(r.total_per_1000(), m.total_per_1000()),
            );
        }
    }

    let pg_rows: Vec<&Measured> = rows.iter().filter(|r| r.pg.is_some()).collect();
    if !pg_rows.is_empty() {
        let _ = writeln!(
            out,
            "\n## PostgreSQL per trigger (pg_stat_database of the load's database, pg_stat_wal)\n"
        );
        let _ = writeln!(
            out,
            "| store | commits / trigger | rollbacks | WAL flushes (fsync) / trigger | WAL records / trigger | WAL bytes / trigger | rewards issued / answered triggers |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
        for r in pg_rows {
            let c = r.pg.unwrap_or_default();
            let n = r.requests().max(1) as f64;
            let _ = writeln!(
                out,
                "| {} | {:.2} | {} | {:.2} | {:.1} | {:.0} | {} / {} |",
                r.layout.label(),
                c.commits as f64 / n,
                c.rollbacks,
                c.wal_syncs as f64 / n,
                c.wal_records as f64 / n,
                c.wal_bytes as f64 / n,
                r.rewards,
                r.requests()
            );
        }
        let _ = writeln!(
            out,
            "\nRewards issued can exceed answered triggers by the requests still in flight when wrk stopped (at most {}).",
            opts.connections
        );
    }

    for w in waits {
        render_waits(&mut out, w, opts.connections);
    }

    render_targets(&mut out, opts, rows);
    out
}

fn render_waits(out: &mut String, w: &Waits, connections: u32) {
    let _ = writeln!(
        out,
        "\n## Where the time goes: {}, pg_stat_activity every {} ms\n",
        w.layout.label(),
        SAMPLE_EVERY.as_millis()
    );
    let n = f64::from(w.samples.max(1));
    let rate = w.rate.max(f64::MIN_POSITIVE);
    let _ = writeln!(
        out,
        "A load of its own: {} s, {connections} connections, {:.0} triggers/s{}; {} samples of the mock's connections \
         (its pool keeps up to 32 per instance). By Little's law, connections seen in a state on average ÷ \
         triggers/s = time per trigger in that state.\n",
        w.seconds,
        w.rate,
        if w.errors > 0 {
            format!(" (NOT VALID: {} errors)", w.errors)
        } else {
            String::new()
        },
        w.samples
    );
    let _ = writeln!(
        out,
        "| what | state | wait event | statement | connections on average | ms per trigger |"
    );
    let _ = writeln!(out, "|---|---|---|---|---:|---:|");
    let mut seen: Vec<_> = w.seen.iter().collect();
    seen.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for ((role, state, wait, statement), count) in seen {
        let avg = *count as f64 / n;
        // Idle connections wait for work, not for a trigger: no time per trigger.
        let per_trigger = if role == "idle in the pool" {
            "–".to_string()
        } else {
            format!("{:.3}", 1000.0 * avg / rate)
        };
        let _ = writeln!(
            out,
            "| {role} | {state} | {} | {} | {avg:.2} | {per_trigger} |",
            if wait.is_empty() {
                "– (on CPU)"
            } else {
                wait
            },
            if statement.is_empty() {
                "".into()
            } else {
                format!("`{}`", statement.replace('|', "\\|"))
            },
        );
    }
    // The write transaction's time, by what it waited on.
    let mut parts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut alone: BTreeMap<&str, u64> = BTreeMap::new();
    for ((role, state, wait, _), count) in &w.seen {
        let class = if state == "idle in transaction" || wait == "Client/ClientRead" {
            "waiting for the mock (idle in transaction, Client/ClientRead)"
        } else if wait.starts_with("Lock/") {
            "waiting for a lock"
        } else if wait.starts_with("IO/WAL") || wait == "LWLock/WALWrite" {
            "flushing WAL (IO/WAL*, LWLock/WALWrite)"
        } else if wait.is_empty() {
            "on CPU in PostgreSQL"
        } else {
            "other waits"
        };
        match role.as_str() {
            "write transaction" => *parts.entry(class).or_default() += count,
            "statement alone" => *alone.entry(class).or_default() += count,
            _ => {}
        }
    }
    let summary = |parts: &BTreeMap<&str, u64>| {
        let total: u64 = parts.values().sum();
        let mut v: Vec<_> = parts.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1));
        v.iter()
            .map(|(k, c)| {
                format!(
                    "{k} {:.0} % ({:.3} ms per trigger)",
                    100.0 * **c as f64 / total.max(1) as f64,
                    1000.0 * **c as f64 / n / rate
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let _ = writeln!(
        out,
        "\n- a write transaction (holding a sandbox's row, or waiting for it) was open in {:.0} % of the samples; \
         1 ÷ triggers/s = {:.3} ms per trigger",
        100.0 * f64::from(w.with_write) / n,
        1000.0 / rate
    );
    if !parts.is_empty() {
        let _ = writeln!(out, "- write transactions' time: {}", summary(&parts));
    }
    if !alone.is_empty() {
        let _ = writeln!(
            out,
            "- statements outside a transaction (idempotency claims, catch-up reads): {}",
            summary(&alone)
        );
    }
}

fn render_targets(out: &mut String, opts: &Options, rows: &[Measured]) {
    let find = |l: Layout| rows.iter().find(|r| r.layout == l);
    let mut targets: Vec<(String, String, bool)> = Vec::new();
    if let Some(r) = find(Layout::Postgres) {
        targets.push((
            "PostgreSQL, one instance: ≥ 1,000 triggers/s".into(),
            format!("{:.0}/s", r.rate()),
            r.rate() >= 1000.0,
        ));
        targets.push((
            "PostgreSQL, one instance: p99 ≤ 25 ms".into(),
            format!("{:.2} ms", r.worst_p99()),
            r.worst_p99() <= 25.0,
        ));
    }
    if let Some(r) = find(Layout::Postgres2) {
        let each: Vec<String> = r
            .loads
            .iter()
            .map(|l| format!("{:.0}/s", l.requests_per_sec))
            .collect();
        targets.push((
            "PostgreSQL, two instances on one database: ≥ 1,000 triggers/s per instance".into(),
            each.join(" / "),
            r.loads.iter().all(|l| l.requests_per_sec >= 1000.0),
        ));
        targets.push((
            "PostgreSQL, two instances on one database: p99 ≤ 25 ms on each".into(),
            r.loads
                .iter()
                .map(|l| format!("{:.2} ms", l.p99_ms))
                .collect::<Vec<_>>()
                .join(" / "),
            r.worst_p99() <= 25.0,
        ));
    }
    if let Some(r) = find(Layout::Sqlite) {
        targets.push((
            "SQLite: ≥ 2,000 triggers/s".into(),
            format!("{:.0}/s", r.rate()),
            r.rate() >= 2000.0,
        ));
    }
    if let (Some(one), Some(two)) = (find(Layout::Postgres), find(Layout::Postgres2)) {
        let ratio = two.rate() / one.rate().max(f64::MIN_POSITIVE);
        targets.push((
            "PostgreSQL: two instances on one database (one sandbox) give more triggers/s than one"
                .into(),
            format!(
                "{:.0} / {:.0} = {ratio:.2}× ({:+.0} %)",
                two.rate(),
                one.rate(),
                100.0 * (ratio - 1.0)
            ),
            ratio > 1.0,
        ));
    }
    let _ = writeln!(out, "\n## Targets, this run\n");
    let judged = opts.connections == 32;
    let invalid = rows.iter().any(|r| r.errors() > 0);
    let _ = writeln!(out, "| target | measured | |\n|---|---:|---|");
    for (what, measured, met) in targets {
        let verdict = if invalid {
            "not valid: a load had errors"
        } else if !judged {
            "not judged: the targets are at 32 connections"
        } else if met {
            "met"
        } else {
            "not met"
        };
        let _ = writeln!(out, "| {what} (32 connections) | {measured} | {verdict} |");
    }
    if invalid {
        let _ = writeln!(
            out,
            "\nNOT VALID: these loads got non-2xx answers or socket errors: {}",
            rows.iter()
                .filter(|r| r.errors() > 0)
                .map(|r| r.layout.label())
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_parse_in_the_reports_order_and_unknown_ones_are_refused() {
        assert_eq!(
            parse_layouts("pg2t,pg1").unwrap(),
            vec![Layout::Postgres, Layout::PostgresTenants]
        );
        assert_eq!(
            parse_layouts("mem, sqlite,pg1,pg2,pg2t").unwrap(),
            LAYOUTS.to_vec()
        );
        let e = parse_layouts("pg1,pg3").unwrap_err();
        assert!(e.contains("`pg3`") && e.contains("pg2t"), "{e}");
    }
}
