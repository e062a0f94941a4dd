//! Store settings given by a table or a session, over the environment's.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::{Error, Result};

/// Every store setting, with its one-line description.
pub const OPTION_KEYS: &[(&str, &str)] = &[
    (
        "aws.*",
        "S3 settings (object_store's `aws_*` keys without the prefix): `aws.region`, \
         `aws.endpoint`, `aws.access_key_id`, `aws.secret_access_key`, `aws.session_token`, \
         `aws.skip_signature` (public buckets), `aws.allow_http`, …",
    ),
    (
        "google.*",
        "GCS settings: `google.service_account` (a key file), `google.skip_signature`, …",
    ),
    (
        "azure.*",
        "Azure settings: `azure.account_name`, `azure.access_key`, `azure.sas_token`, \
         `azure.skip_signature`, …",
    ),
    (
        "http.timeout",
        "time a request may take, e.g. `30s` (default 30 s; GDAL_HTTP_TIMEOUT)",
    ),
    (
        "http.connect_timeout",
        "time to connect, e.g. `5s` (default 5 s; GDAL_HTTP_CONNECTTIMEOUT)",
    ),
    (
        "http.max_retries",
        "retries of a failed request: 5xx, timeouts, resets (default 4; GDAL_HTTP_MAX_RETRY)",
    ),
    (
        "http.retry_delay",
        "first backoff before a retry, doubling up to 8 s (default 100ms; GDAL_HTTP_RETRY_DELAY)",
    ),
    (
        "http.retry_timeout",
        "no retry after this long from the first attempt (default 60s)",
    ),
    (
        "http.query",
        "a query string appended to every http(s) request of the table, e.g. a \
         signed-URL token `st=…&sig=…`",
    ),
    (
        "http.user_agent",
        "the User-Agent header (GDAL_HTTP_USERAGENT)",
    ),
];

const HTTP_KEYS: &[&str] = &[
    "timeout",
    "connect_timeout",
    "max_retries",
    "retry_delay",
    "retry_timeout",
    "query",
    "user_agent",
];

/// Store settings (`aws.region`, `http.timeout`, …) given by a table or a session;
/// they win over the environment's. Printing shows the keys, never the values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StoreOptions {
    values: BTreeMap<String, String>,
}

impl fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.values.keys()).finish()
    }
}

impl StoreOptions {
    /// No settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `key` names a store setting (`aws.*`, `google.*`, `azure.*`, `http.*`).
    pub fn is_store_key(key: &str) -> bool {
        ["aws.", "google.", "azure.", "http."]
            .iter()
            .any(|p| key.starts_with(p))
    }

    /// Set `key` (lowercase, `prefix.name`) to `value`, checking what can be checked
    /// without building a store.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let key = key.to_ascii_lowercase();
        let Some((prefix, name)) = key.split_once('.') else {
            return Err(Error::Option(format!("{key:?} is not a store setting")));
        };
        if name.is_empty() {
            return Err(Error::Option(format!("{key:?}: a setting name is missing")));
        }
        match prefix {
            "aws" | "google" | "azure" => {}
            "http" => {
                if !HTTP_KEYS.contains(&name) {
                    return Err(Error::Option(format!(
                        "unknown setting {key:?}; http settings are: {}",
                        HTTP_KEYS
                            .iter()
                            .map(|k| format!("http.{k}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                match name {
                    "timeout" | "connect_timeout" | "retry_delay" | "retry_timeout" => {
                        parse_duration(value)
                            .map_err(|m| Error::Option(format!("{key}: {m}")))?;
                    }
                    "max_retries" => {
                        parse_count(value)
                            .map_err(|m| Error::Option(format!("{key}: {m}")))?;
                    }
                    _ => {}
                }
            }
            _ => {
                return Err(Error::Option(format!(
                    "{key:?} is not a store setting (aws.*, google.*, azure.*, http.*)"
                )));
            }
        }
        self.values.insert(key, value.to_string());
        Ok(())
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The keys set, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// The values of settings that hold secrets (keys, tokens, signatures,
    /// passwords, `http.query`), to mask in text.
    pub fn secret_values(&self) -> impl Iterator<Item = &str> {
        const SECRET: &[&str] = &[
            "secret",
            "token",
            "key",
            "sas",
            "password",
            "query",
            "signature",
            "credential",
        ];
        self.values
            .iter()
            .filter(|(k, v)| v.len() >= 4 && SECRET.iter().any(|s| k.contains(s)))
            .map(|(_, v)| v.as_str())
    }

    /// These settings with `other`'s over them.
    pub fn merged(&self, other: &StoreOptions) -> StoreOptions {
        let mut values = self.values.clone();
        values.extend(other.values.clone());
        StoreOptions { values }
    }

    /// `(name, value)` of the settings under `prefix.` (`"aws"` → `("region", …)`).
    pub(crate) fn under(&self, prefix: &str) -> Vec<(String, String)> {
        let p = format!("{prefix}.");
        self.values
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(&p).map(|n| (n.to_string(), v.clone())))
            .collect()
    }

    /// The transport settings (`http.*` but `http.query`).
    pub(crate) fn transport(&self) -> Result<Transport> {
        let d = |name: &str| -> Result<Option<Duration>> {
            self.get(&format!("http.{name}"))
                .map(|v| {
                    parse_duration(v)
                        .map_err(|m| Error::Option(format!("http.{name}: {m}")))
                })
                .transpose()
        };
        Ok(Transport {
            timeout: d("timeout")?,
            connect_timeout: d("connect_timeout")?,
            retry_delay: d("retry_delay")?,
            retry_timeout: d("retry_timeout")?,
            max_retries: self
                .get("http.max_retries")
                .map(|v| {
                    parse_count(v)
                        .map_err(|m| Error::Option(format!("http.max_retries: {m}")))
                })
                .transpose()?,
            user_agent: self.get("http.user_agent").map(str::to_string),
        })
    }
}

/// Timeouts, retries and the user agent of a store's HTTP client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Transport {
    pub timeout: Option<Duration>,
    pub connect_timeout: Option<Duration>,
    pub retry_delay: Option<Duration>,
    pub retry_timeout: Option<Duration>,
    pub max_retries: Option<usize>,
    pub user_agent: Option<String>,
}

impl Transport {
    /// These settings with `other`'s over them.
    pub fn merged(&self, other: &Transport) -> Transport {
        Transport {
            timeout: other.timeout.or(self.timeout),
            connect_timeout: other.connect_timeout.or(self.connect_timeout),
            retry_delay: other.retry_delay.or(self.retry_delay),
            retry_timeout: other.retry_timeout.or(self.retry_timeout),
            max_retries: other.max_retries.or(self.max_retries),
            user_agent: other.user_agent.clone().or_else(|| self.user_agent.clone()),
        }
    }
}

/// `30`, `30s`, `1.5s`, `500ms`, `2m`: a duration of at most a day (a bare number is
/// seconds, as GDAL's settings are).
pub fn parse_duration(value: &str) -> std::result::Result<Duration, String> {
    let v = value.trim();
    let (number, unit) = match v.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&v[..i], &v[i..]),
        None => (v, "s"),
    };
    let n: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a duration like `30s` or `500ms`"))?;
    let seconds = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" | "min" => n * 60.0,
        _ => return Err(format!("{value:?}: unknown unit {unit:?} (ms, s, m)")),
    };
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0) {
        return Err(format!("{value:?} is not between 1 ms and a day"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn parse_count(value: &str) -> std::result::Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(n) if n <= 100 => Ok(n),
        _ => Err(format!("{value:?} is not a count from 0 to 100")),
    }
}
