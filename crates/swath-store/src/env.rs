//! Settings from the environment, under the names GDAL, rasterio, fsspec and the
//! cloud SDKs read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use object_store::aws::AmazonS3ConfigKey;
use object_store::azure::AzureConfigKey;
use object_store::gcp::GoogleConfigKey;

use crate::options::{StoreOptions, Transport, parse_duration};
use crate::{Error, Result};

/// A snapshot of the environment variables that configure stores, taken once.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

const PREFIXES: &[&str] = &["AWS_", "GOOGLE_", "GS_", "AZURE_", "GDAL_HTTP_"];

fn truthy(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "1" | "yes" | "true" | "on"
    )
}

fn falsy(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "0" | "no" | "false" | "off"
    )
}

/// Settings for one kind of store: `(object_store key, value)` pairs, applied in
/// order, and where the credentials come from.
type Settings = (Vec<(String, String)>, String);

impl Environment {
    /// The variables of this process.
    pub fn from_process() -> Self {
        Self::from_vars(std::env::vars())
    }

    /// The given variables (others than the store ones and `HOME` are ignored).
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        Environment {
            vars: vars
                .into_iter()
                .filter(|(k, _)| k == "HOME" || PREFIXES.iter().any(|p| k.starts_with(p)))
                .collect(),
        }
    }

    fn var(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// `GDAL_HTTP_TIMEOUT`, `GDAL_HTTP_CONNECTTIMEOUT`, `GDAL_HTTP_MAX_RETRY`,
    /// `GDAL_HTTP_RETRY_DELAY` (seconds), `GDAL_HTTP_USERAGENT`. Bad values are
    /// ignored (as GDAL does).
    pub(crate) fn transport(&self) -> Transport {
        let d = |k: &str| -> Option<Duration> {
            self.var(k).and_then(|v| parse_duration(v).ok())
        };
        Transport {
            timeout: d("GDAL_HTTP_TIMEOUT"),
            connect_timeout: d("GDAL_HTTP_CONNECTTIMEOUT"),
            retry_delay: d("GDAL_HTTP_RETRY_DELAY"),
            retry_timeout: None,
            max_retries: self
                .var("GDAL_HTTP_MAX_RETRY")
                .and_then(|v| v.trim().parse().ok())
                .map(|n: usize| n.min(100)),
            user_agent: self.var("GDAL_HTTP_USERAGENT").map(str::to_string),
        }
    }

    /// Variables `PREFIX_*` that object_store knows as config keys, lowercased.
    fn known<K: std::str::FromStr>(&self, prefix: &str) -> Vec<(String, String)> {
        self.vars
            .iter()
            .filter(|(k, v)| k.starts_with(prefix) && !v.is_empty())
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .filter(|(k, _)| k.parse::<K>().is_ok())
            .collect()
    }

    /// S3: `AWS_*` (access key, secret, session token, region, `AWS_ENDPOINT_URL`, …),
    /// GDAL's `AWS_NO_SIGN_REQUEST`, `AWS_S3_ENDPOINT` + `AWS_HTTPS`,
    /// `AWS_VIRTUAL_HOSTING`, the profile files (`AWS_PROFILE`,
    /// `AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`), then `options`.
    pub(crate) fn aws(&self, options: &StoreOptions) -> Result<Settings> {
        let mut pairs = self.known::<AmazonS3ConfigKey>("AWS_");
        let mut source = if self.var("AWS_ACCESS_KEY_ID").is_some() {
            Some("access key from AWS_ACCESS_KEY_ID".to_string())
        } else {
            None
        };
        let has_endpoint = pairs.iter().any(|(k, _)| k.starts_with("aws_endpoint"));
        if !has_endpoint && let Some(host) = self.var("AWS_S3_ENDPOINT") {
            let endpoint = if host.contains("://") {
                host.to_string()
            } else if self.var("AWS_HTTPS").is_some_and(falsy) {
                format!("http://{host}")
            } else {
                format!("https://{host}")
            };
            pairs.push(("aws_endpoint".into(), endpoint));
        }
        if let Some(v) = self.var("AWS_VIRTUAL_HOSTING") {
            pairs.push((
                "aws_virtual_hosted_style_request".into(),
                truthy(v).to_string(),
            ));
        }
        let unsigned_env = self.var("AWS_NO_SIGN_REQUEST").is_some_and(truthy);
        if unsigned_env {
            pairs.push(("aws_skip_signature".into(), "true".into()));
        }
        let opt = options.under("aws");
        let opt_keyed = opt
            .iter()
            .any(|(k, _)| k.strip_prefix("aws_").unwrap_or(k) == "access_key_id");
        // The profile comes first, so the environment and the options win over it;
        // its keys are used only when no other keys are given.
        let keys_elsewhere = source.is_some() || opt_keyed;
        let profile = if unsigned_env {
            None
        } else if keys_elsewhere {
            self.aws_profile().ok().flatten()
        } else {
            self.aws_profile()?
        };
        if let Some((profile_pairs, described)) = profile {
            let secret = |k: &str| {
                matches!(
                    k,
                    "aws_access_key_id" | "aws_secret_access_key" | "aws_session_token"
                )
            };
            if !keys_elsewhere
                && profile_pairs.iter().any(|(k, _)| k == "aws_access_key_id")
            {
                source = Some(described);
            }
            let mut ordered: Vec<(String, String)> = profile_pairs
                .into_iter()
                .filter(|(k, _)| !(keys_elsewhere && secret(k)))
                .collect();
            ordered.append(&mut pairs);
            pairs = ordered;
        }
        if opt_keyed {
            source =
                Some("access key from the table's or session's aws.access_key_id".into());
        }
        pairs.extend(opt);
        // An http:// endpoint (a local S3-compatible server) needs plain HTTP allowed.
        let endpoint = pairs
            .iter()
            .rev()
            .find(|(k, _)| {
                let k = k.strip_prefix("aws_").unwrap_or(k);
                k == "endpoint" || k == "endpoint_url"
            })
            .map(|(_, v)| v.clone());
        if endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("http://"))
            && !pairs.iter().any(|(k, _)| k.ends_with("allow_http"))
        {
            pairs.push(("aws_allow_http".into(), "true".into()));
        }
        let unsigned = pairs
            .iter()
            .rev()
            .find(|(k, _)| k.ends_with("skip_signature"))
            .is_some_and(|(_, v)| truthy(v));
        let described = if unsigned {
            if unsigned_env {
                "anonymous (AWS_NO_SIGN_REQUEST)".to_string()
            } else {
                "anonymous (aws.skip_signature)".to_string()
            }
        } else {
            source.unwrap_or_else(|| {
                "AWS's default chain (web identity, container or instance credentials); \
                 no AWS_ACCESS_KEY_ID, profile or AWS_NO_SIGN_REQUEST was set"
                    .to_string()
            })
        };
        Ok((pairs, described))
    }

    /// Keys, region and endpoint of the AWS profile, if a profile is named or the
    /// default one exists.
    fn aws_profile(&self) -> Result<Option<Settings>> {
        let named = self.var("AWS_PROFILE").or(self.var("AWS_DEFAULT_PROFILE"));
        let profile = named.unwrap_or("default");
        let home = self.var("HOME").map(PathBuf::from);
        let file = |var: &str, default: &str| -> Option<PathBuf> {
            self.var(var)
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
        };
        let creds_file = file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
        let config_file = file("AWS_CONFIG_FILE", "config");
        let creds = creds_file.as_deref().and_then(|p| read_ini(p, profile));
        let config_section = if profile == "default" {
            "default".to_string()
        } else {
            format!("profile {profile}")
        };
        let config = config_file
            .as_deref()
            .and_then(|p| read_ini(p, &config_section).or_else(|| read_ini(p, profile)));
        if creds.is_none() && config.is_none() {
            if let Some(name) = named {
                return Err(Error::Option(format!(
                    "AWS profile {name:?} is in neither {} nor {}",
                    show(creds_file.as_deref()),
                    show(config_file.as_deref())
                )));
            }
            return Ok(None);
        }
        let mut pairs = Vec::new();
        let mut keyed = false;
        for section in [&config, &creds].into_iter().flatten() {
            for (k, v) in section {
                let key = match k.as_str() {
                    "aws_access_key_id" => {
                        keyed = true;
                        "aws_access_key_id"
                    }
                    "aws_secret_access_key" => "aws_secret_access_key",
                    "aws_session_token" => "aws_session_token",
                    "region" => "aws_region",
                    "endpoint_url" => "aws_endpoint",
                    _ => continue,
                };
                pairs.push((key.to_string(), v.clone()));
            }
        }
        let where_ = if keyed {
            show(creds_file.as_deref())
        } else {
            show(config_file.as_deref())
        };
        Ok(Some((pairs, format!("profile {profile:?} in {where_}"))))
    }

    /// GCS: `GOOGLE_*` (`GOOGLE_APPLICATION_CREDENTIALS`, `GOOGLE_SERVICE_ACCOUNT`,
    /// …), GDAL's `GS_NO_SIGN_REQUEST`, then `options`.
    pub(crate) fn google(&self, options: &StoreOptions) -> Result<Settings> {
        let mut pairs = self.known::<GoogleConfigKey>("GOOGLE_");
        let mut source = pairs
            .iter()
            .find(|(k, _)| {
                k.contains("service_account") || k.contains("application_credentials")
            })
            .map(|(k, _)| format!("credentials from {}", k.to_ascii_uppercase()));
        let unsigned_env = self.var("GS_NO_SIGN_REQUEST").is_some_and(truthy);
        if unsigned_env {
            pairs.push(("google_skip_signature".into(), "true".into()));
        }
        let opt = options.under("google");
        if opt.iter().any(|(k, _)| k.contains("service_account")) {
            source = Some(
                "credentials from the table's or session's google.* settings".into(),
            );
        }
        pairs.extend(opt);
        let described = if last_true(&pairs, "skip_signature") {
            if unsigned_env {
                "anonymous (GS_NO_SIGN_REQUEST)".into()
            } else {
                "anonymous (google.skip_signature)".into()
            }
        } else {
            source.unwrap_or_else(|| "Google application default credentials".into())
        };
        Ok((pairs, described))
    }

    /// Azure: `AZURE_STORAGE_*` (account name, key, SAS token, connection string as
    /// GDAL reads them), `AZURE_NO_SIGN_REQUEST`, then `options`.
    pub(crate) fn azure(&self, options: &StoreOptions) -> Result<Settings> {
        let mut pairs = self.known::<AzureConfigKey>("AZURE_");
        if let Some(account) = self.var("AZURE_STORAGE_ACCOUNT") {
            pairs.push(("azure_storage_account_name".into(), account.into()));
        }
        if let Some(conn) = self.var("AZURE_STORAGE_CONNECTION_STRING") {
            for part in conn.split(';') {
                let Some((k, v)) = part.split_once('=') else {
                    continue;
                };
                let key = match k.trim() {
                    "AccountName" => "azure_storage_account_name",
                    "AccountKey" => "azure_storage_account_key",
                    "SharedAccessSignature" => "azure_storage_sas_key",
                    "BlobEndpoint" => "azure_storage_endpoint",
                    _ => continue,
                };
                pairs.push((key.into(), v.trim().into()));
            }
        }
        let unsigned_env = self.var("AZURE_NO_SIGN_REQUEST").is_some_and(truthy);
        if unsigned_env {
            pairs.push(("azure_skip_signature".into(), "true".into()));
        }
        let key_source = |pairs: &[(String, String)]| {
            pairs
                .iter()
                .find(|(k, _)| {
                    k.contains("account_key")
                        || k.contains("access_key")
                        || k.contains("sas")
                })
                .map(|(k, _)| k.clone())
        };
        let mut source = key_source(&pairs)
            .map(|k| format!("{} from the environment", k.to_ascii_uppercase()));
        let opt = options.under("azure");
        if key_source(&opt).is_some() {
            source = Some("a key from the table's or session's azure.* settings".into());
        }
        pairs.extend(opt);
        let described = if last_true(&pairs, "skip_signature") {
            if unsigned_env {
                "anonymous (AZURE_NO_SIGN_REQUEST)".into()
            } else {
                "anonymous (azure.skip_signature)".into()
            }
        } else {
            source.unwrap_or_else(|| {
                "Azure's default chain (managed identity, Azure CLI)".into()
            })
        };
        Ok((pairs, described))
    }
}

fn last_true(pairs: &[(String, String)], suffix: &str) -> bool {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k.ends_with(suffix))
        .is_some_and(|(_, v)| truthy(v))
}

fn show(path: Option<&Path>) -> String {
    path.map_or_else(|| "(no HOME)".into(), |p| p.display().to_string())
}

/// The `key = value` lines of section `[name]` of an INI file (AWS's credentials
/// and config files), or `None` if the file or the section is missing. Files larger
/// than 1 MiB are not read.
fn read_ini(path: &Path, name: &str) -> Option<Vec<(String, String)>> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.len() > 1 << 20 {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let mut found = None;
    let mut current: Option<Vec<(String, String)>> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if let Some(done) = current.take() {
                found = Some(done);
            }
            if section.trim() == name {
                current = Some(Vec::new());
            }
            continue;
        }
        if let (Some(section), Some((k, v))) = (current.as_mut(), line.split_once('=')) {
            section.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    current.or(found)
}
