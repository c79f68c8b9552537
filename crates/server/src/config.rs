//! Server configuration from command-line flags and environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Which browser origins may call the API (CORS).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CorsOrigins {
    /// Same origin plus any `http(s)://localhost[:port]` or `127.0.0.1[:port]` origin.
    Localhost,
    /// Any origin.
    Any,
    /// Exactly these origins (e.g. `https://app.example.com`).
    List(Vec<String>),
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// `sqlite://path` or `postgres://…`.
    pub database: String,
    /// Directory served at `/` (the demo app), if any.
    pub static_dir: Option<PathBuf>,
    /// Token-signing secret; when absent one is generated and persisted in the database.
    pub secret: Option<String>,
    /// How long a token stays valid.
    pub token_ttl: Duration,
    /// Largest request body, in bytes.
    pub body_limit: usize,
    /// Sustained requests per second per user on `/api/sync/*`; 0 disables the limit.
    pub rate_limit: f64,
    /// Requests a user may burst above the sustained rate.
    pub rate_burst: f64,
    /// Allowed CORS origins.
    pub cors: CorsOrigins,
    /// How long a processed change its device has superseded is still remembered (see
    /// [`crate::store::ChangeStore::forget_processed`]).
    pub processed_retention: Duration,
    /// How far ahead of or behind the server's clock a device's clock may be before its pushed
    /// stamps are moved (see [`ferrysync_core::skew`]). The offset is measured with the push's
    /// transit time in it, so the bound must exceed the slowest upload: a 10 MiB push takes
    /// ~80 s at 1 Mbit/s.
    pub max_clock_skew: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8787)),
            database: "sqlite://ferrysync.db".to_owned(),
            static_dir: None,
            secret: None,
            token_ttl: Duration::from_secs(30 * 24 * 3600),
            body_limit: 10 * 1024 * 1024,
            rate_limit: 50.0,
            rate_burst: 100.0,
            cors: CorsOrigins::Localhost,
            processed_retention: Duration::from_secs(24 * 3600),
            max_clock_skew: Duration::from_secs(300),
        }
    }
}

/// Usage text for `--help`.
pub const USAGE: &str = "\
usage: ferrysync-server [--bind ADDR] [--database URL] [--static DIR] [--rate-limit N]
                        [--cors-origins LIST] [--body-limit BYTES] [--token-ttl SECS]
                        [--processed-retention SECS] [--max-clock-skew SECS]

  --bind ADDR          listen address (env FERRYSYNC_BIND; default 127.0.0.1:8787)
  --database URL       sqlite://FILE or postgres://... (env FERRYSYNC_DATABASE or DATABASE_URL;
                       default sqlite://ferrysync.db)
  --static DIR         serve DIR at / (the demo app)
  --rate-limit N       requests per second per user on /api/sync/* (env FERRYSYNC_RATE_LIMIT;
                       default 50, burst 2N; 0 disables)
  --cors-origins LIST  comma-separated origins, or * (env FERRYSYNC_CORS_ORIGINS; default: same
                       origin plus any localhost / 127.0.0.1 origin)
  --body-limit BYTES   largest request body (env FERRYSYNC_BODY_LIMIT; default 10485760)
  --token-ttl SECS     token lifetime (env FERRYSYNC_TOKEN_TTL; default 30 days)
  --processed-retention SECS
                       how long a pushed changeId its device has superseded is remembered
                       for retries (env FERRYSYNC_PROCESSED_RETENTION; default 1 day)
  --max-clock-skew SECS
                       how far a device's clock may be off before the server moves its
                       writes' stamps by that offset (env FERRYSYNC_MAX_CLOCK_SKEW; default 300)
  env FERRYSYNC_SECRET token-signing secret (default: generated once, kept in the database)
";

impl Config {
    /// Reads flags from `args` (without the program name), falling back to environment variables.
    pub fn from_args(
        args: impl IntoIterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let mut config = Self::default();
        let mut flags = std::collections::HashMap::new();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if arg == "--help" || arg == "-h" {
                return Err(USAGE.to_owned());
            }
            let (name, value) = match arg.split_once('=') {
                Some((name, value)) => (name.to_owned(), value.to_owned()),
                None => (
                    arg.clone(),
                    args.next().ok_or(format!("{arg} needs a value"))?,
                ),
            };
            flags.insert(name, value);
        }
        let pick = |flag: &str, vars: &[&str]| {
            flags
                .get(flag)
                .cloned()
                .or_else(|| vars.iter().find_map(|var| env(var)))
        };
        if let Some(bind) = pick("--bind", &["FERRYSYNC_BIND"]) {
            config.bind = bind
                .parse()
                .map_err(|err| format!("--bind {bind}: {err}"))?;
        }
        if let Some(database) = pick("--database", &["FERRYSYNC_DATABASE", "DATABASE_URL"]) {
            config.database = database;
        }
        config.static_dir = pick("--static", &["FERRYSYNC_STATIC"]).map(PathBuf::from);
        config.secret = env("FERRYSYNC_SECRET").filter(|secret| !secret.is_empty());
        if let Some(rate) = pick("--rate-limit", &["FERRYSYNC_RATE_LIMIT"]) {
            config.rate_limit = rate
                .parse()
                .map_err(|err| format!("--rate-limit {rate}: {err}"))?;
            config.rate_burst = config.rate_limit * 2.0;
        }
        if let Some(limit) = pick("--body-limit", &["FERRYSYNC_BODY_LIMIT"]) {
            config.body_limit = limit
                .parse()
                .map_err(|err| format!("--body-limit {limit}: {err}"))?;
        }
        // A whole number of seconds, when the flag or its variable is set.
        let seconds = |flag: &str, var: &str| -> Result<Option<Duration>, String> {
            pick(flag, &[var])
                .map(|secs| {
                    let parsed = secs
                        .parse()
                        .map_err(|err| format!("{flag} {secs}: {err}"))?;
                    Ok(Duration::from_secs(parsed))
                })
                .transpose()
        };
        for (flag, var, setting) in [
            ("--token-ttl", "FERRYSYNC_TOKEN_TTL", &mut config.token_ttl),
            (
                "--processed-retention",
                "FERRYSYNC_PROCESSED_RETENTION",
                &mut config.processed_retention,
            ),
            (
                "--max-clock-skew",
                "FERRYSYNC_MAX_CLOCK_SKEW",
                &mut config.max_clock_skew,
            ),
        ] {
            if let Some(duration) = seconds(flag, var)? {
                *setting = duration;
            }
        }
        if let Some(origins) = pick("--cors-origins", &["FERRYSYNC_CORS_ORIGINS"]) {
            config.cors = match origins.trim() {
                "*" => CorsOrigins::Any,
                "" => CorsOrigins::Localhost,
                list => CorsOrigins::List(list.split(',').map(|o| o.trim().to_owned()).collect()),
            };
        }
        if let Some(unknown) = flags.keys().find(|flag| {
            ![
                "--bind",
                "--database",
                "--static",
                "--rate-limit",
                "--body-limit",
                "--token-ttl",
                "--cors-origins",
                "--processed-retention",
                "--max-clock-skew",
            ]
            .contains(&flag.as_str())
        }) {
            return Err(format!("unknown flag {unknown}\n\n{USAGE}"));
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_env_and_env_over_defaults() {
        let env = |var: &str| match var {
            "DATABASE_URL" => Some("postgres://db/x".to_owned()),
            "FERRYSYNC_BIND" => Some("0.0.0.0:1".to_owned()),
            _ => None,
        };
        let args = ["--bind", "127.0.0.1:9", "--static=www"].map(String::from);
        let config = Config::from_args(args, env).unwrap();
        assert_eq!(config.bind.port(), 9);
        assert_eq!(config.database, "postgres://db/x");
        assert_eq!(config.static_dir, Some(PathBuf::from("www")));
        assert!(Config::from_args(["--nope=1".to_owned()], |_| None).is_err());
    }

    #[test]
    fn processed_retention_is_a_day_unless_set() {
        let default = Config::from_args([], |_| None).unwrap();
        assert_eq!(default.processed_retention, Duration::from_secs(86_400));
        let env = |var: &str| (var == "FERRYSYNC_PROCESSED_RETENTION").then(|| "60".to_owned());
        let config = Config::from_args([], env).unwrap();
        assert_eq!(config.processed_retention, Duration::from_secs(60));
        let flag = ["--processed-retention", "0"].map(String::from);
        let config = Config::from_args(flag, env).unwrap();
        assert_eq!(config.processed_retention, Duration::ZERO);
        let bad = ["--processed-retention=soon".to_owned()];
        assert!(Config::from_args(bad, |_| None).is_err());
    }

    #[test]
    fn max_clock_skew_is_five_minutes_unless_set() {
        let default = Config::from_args([], |_| None).unwrap();
        assert_eq!(default.max_clock_skew, Duration::from_secs(300));
        let env = |var: &str| (var == "FERRYSYNC_MAX_CLOCK_SKEW").then(|| "600".to_owned());
        let config = Config::from_args([], env).unwrap();
        assert_eq!(config.max_clock_skew, Duration::from_secs(600));
        let flag = ["--max-clock-skew", "5"].map(String::from);
        assert_eq!(
            Config::from_args(flag, env).unwrap().max_clock_skew,
            Duration::from_secs(5)
        );
        let bad = ["--max-clock-skew=-1".to_owned()];
        assert!(Config::from_args(bad, |_| None).is_err());
    }
}
