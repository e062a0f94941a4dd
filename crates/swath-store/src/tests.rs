use super::*;

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

fn env(vars: &[(&str, &str)]) -> Environment {
    Environment::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

fn value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| {
            k.strip_prefix("aws_").unwrap_or(k) == key.strip_prefix("aws_").unwrap_or(key)
        })
        .map(|(_, v)| v.as_str())
}

#[test]
fn keys_are_scheme_and_authority() {
    assert_eq!(store_key(&url("s3://bucket/a/b.json")), "s3://bucket");
    assert_eq!(
        store_key(&url("http://127.0.0.1:9000/x")),
        "http://127.0.0.1:9000"
    );
    // A signed href has a store of its own for its query; S3 URLs ignore queries.
    assert_eq!(store_key(&url("https://h/x.tif?sig=1")), "https://h?sig=1");
    assert_eq!(store_key(&url("s3://b/x?versionId=3")), "s3://b");
    assert_eq!(store_key(&url("file:///tmp/x.json")), "file://");
    assert_eq!(
        store_key(&url("abfs://c@acct.dfs.core.windows.net/x")),
        "abfs://c@acct.dfs.core.windows.net"
    );
}

#[test]
fn every_scheme_gets_a_store_without_a_request() {
    let registry = Registry::with_environment(env(&[
        ("AWS_NO_SIGN_REQUEST", "YES"),
        ("GS_NO_SIGN_REQUEST", "YES"),
        ("AZURE_STORAGE_ACCOUNT", "acct"),
        ("AZURE_NO_SIGN_REQUEST", "YES"),
    ]));
    for u in [
        "https://example.com/a/b.tif",
        "http://127.0.0.1:1/a.tif",
        "s3://bucket/key.tif",
        "s3a://bucket/key.tif",
        "gs://bucket/key.tif",
        "az://container/key.tif",
        "abfs://container@acct.dfs.core.windows.net/key.tif",
        "file:///tmp/x.tif",
    ] {
        let u = url(u);
        let first = registry.get(&u).unwrap_or_else(|e| panic!("{u}: {e}"));
        let again = registry.get(&u).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "{u}: one store per key");
    }
    assert_eq!(
        registry.credentials(&url("s3://bucket/x")).as_deref(),
        Some("anonymous (AWS_NO_SIGN_REQUEST)")
    );
    assert_eq!(
        registry.credentials(&url("gs://bucket/x")).as_deref(),
        Some("anonymous (GS_NO_SIGN_REQUEST)")
    );
}

#[test]
fn unknown_schemes_are_named() {
    let registry = Registry::with_environment(Environment::default());
    let err = registry.get(&url("ftp://host/a.tif")).err().unwrap();
    let text = err.to_string();
    assert!(
        text.contains("ftp://host/a.tif") && text.contains("\"ftp\""),
        "{text}"
    );
}

#[test]
fn gdal_names_configure_s3() {
    let e = env(&[
        ("AWS_S3_ENDPOINT", "127.0.0.1:9000"),
        ("AWS_HTTPS", "NO"),
        ("AWS_VIRTUAL_HOSTING", "FALSE"),
        ("AWS_ACCESS_KEY_ID", "AKID"),
        ("AWS_SECRET_ACCESS_KEY", "SECRET"),
        ("AWS_REGION", "eu-west-1"),
    ]);
    let (pairs, creds) = e.aws(&StoreOptions::default()).unwrap();
    assert_eq!(value(&pairs, "endpoint"), Some("http://127.0.0.1:9000"));
    assert_eq!(value(&pairs, "allow_http"), Some("true"));
    assert_eq!(value(&pairs, "virtual_hosted_style_request"), Some("false"));
    assert_eq!(value(&pairs, "region"), Some("eu-west-1"));
    assert_eq!(creds, "access key from AWS_ACCESS_KEY_ID");
    assert!(!creds.contains("AKID") && !creds.contains("SECRET"));
}

#[test]
fn options_win_over_the_environment() {
    let e = env(&[("AWS_REGION", "eu-west-1"), ("AWS_ACCESS_KEY_ID", "A")]);
    let mut o = StoreOptions::new();
    o.set("aws.region", "us-west-2").unwrap();
    o.set("aws.access_key_id", "B").unwrap();
    o.set("aws.secret_access_key", "C").unwrap();
    let (pairs, creds) = e.aws(&o).unwrap();
    assert_eq!(value(&pairs, "region"), Some("us-west-2"));
    assert_eq!(value(&pairs, "access_key_id"), Some("B"));
    assert!(creds.contains("aws.access_key_id"), "{creds}");
    // Printing the options shows keys only.
    let shown = format!("{o:?}");
    assert!(
        shown.contains("aws.secret_access_key") && !shown.contains("\"C\""),
        "{shown}"
    );
}

#[test]
fn aws_profiles_are_read_from_the_shared_files() {
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("credentials");
    let config = dir.path().join("config");
    std::fs::write(
        &creds,
        "[default]\naws_access_key_id = D\naws_secret_access_key = DS\n\n\
         [work]\naws_access_key_id = W\naws_secret_access_key = WS\n",
    )
    .unwrap();
    std::fs::write(
        &config,
        "[default]\nregion = eu-central-1\n[profile work]\nregion = ap-southeast-2\n\
         endpoint_url = http://127.0.0.1:9000\n",
    )
    .unwrap();
    let files = [
        ("AWS_SHARED_CREDENTIALS_FILE", creds.to_str().unwrap()),
        ("AWS_CONFIG_FILE", config.to_str().unwrap()),
    ];
    let (pairs, described) = env(&files).aws(&StoreOptions::default()).unwrap();
    assert_eq!(value(&pairs, "access_key_id"), Some("D"));
    assert_eq!(value(&pairs, "region"), Some("eu-central-1"));
    assert!(described.starts_with("profile \"default\""), "{described}");

    let mut with_profile = files.to_vec();
    with_profile.push(("AWS_PROFILE", "work"));
    let (pairs, _) = env(&with_profile).aws(&StoreOptions::default()).unwrap();
    assert_eq!(value(&pairs, "access_key_id"), Some("W"));
    assert_eq!(value(&pairs, "secret_access_key"), Some("WS"));
    assert_eq!(value(&pairs, "region"), Some("ap-southeast-2"));
    assert_eq!(value(&pairs, "endpoint"), Some("http://127.0.0.1:9000"));
    assert_eq!(value(&pairs, "allow_http"), Some("true"));

    // The environment's region wins over the profile's.
    with_profile.push(("AWS_REGION", "us-east-2"));
    let (pairs, _) = env(&with_profile).aws(&StoreOptions::default()).unwrap();
    assert_eq!(value(&pairs, "region"), Some("us-east-2"));

    let missing = [
        ("AWS_SHARED_CREDENTIALS_FILE", creds.to_str().unwrap()),
        ("AWS_CONFIG_FILE", config.to_str().unwrap()),
        ("AWS_PROFILE", "nope"),
    ];
    let err = env(&missing)
        .aws(&StoreOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"nope\"") && err.contains("credentials"),
        "{err}"
    );
}

#[test]
fn azure_takes_gdal_names_and_connection_strings() {
    let e = env(&[(
        "AZURE_STORAGE_CONNECTION_STRING",
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net",
    )]);
    let (pairs, creds) = e.azure(&StoreOptions::default()).unwrap();
    assert!(pairs.contains(&("azure_storage_account_name".into(), "acct".into())));
    assert!(pairs.contains(&("azure_storage_account_key".into(), "a2V5".into())));
    assert!(
        creds.contains("AZURE_STORAGE_ACCOUNT_KEY") && !creds.contains("a2V5"),
        "{creds}"
    );
}

#[test]
fn store_settings_are_checked() {
    let mut o = StoreOptions::new();
    assert!(o.set("http.timeout", "2s").is_ok());
    assert!(o.set("http.timeout", "soon").is_err());
    assert!(o.set("http.max_retries", "1000").is_err());
    assert!(
        o.set("http.bogus", "1")
            .unwrap_err()
            .to_string()
            .contains("http.timeout")
    );
    assert!(o.set("ftp.user", "x").is_err());
    assert_eq!(parse_duration_ok("500ms"), 0.5);
    assert_eq!(parse_duration_ok("2m"), 120.0);
    assert_eq!(parse_duration_ok("3"), 3.0);
    // A bad aws key is reported when the store is made.
    let mut bad = StoreOptions::new();
    bad.set("aws.no_such_thing", "1").unwrap();
    let registry = Registry::with_environment(Environment::default());
    let err = registry
        .configure(&url("s3://b/x"), &bad)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("aws.no_such_thing"), "{err}");
}

fn parse_duration_ok(s: &str) -> f64 {
    options::parse_duration(s).unwrap().as_secs_f64()
}

#[test]
fn configure_replaces_and_http_query_is_kept_out_of_the_key() {
    let registry = Registry::with_environment(Environment::default());
    let u = url("https://data.example.com/a.tif");
    let plain = registry.get(&u).unwrap();
    let mut o = StoreOptions::new();
    o.set("http.query", "sig=abc").unwrap();
    let signed = registry.configure(&u, &o).unwrap();
    assert!(!Arc::ptr_eq(&plain, &signed));
    assert!(Arc::ptr_eq(&signed, &registry.get(&u).unwrap()));
    let creds = registry.credentials(&u).unwrap();
    assert!(
        creds.contains("http.query") && !creds.contains("abc"),
        "{creds}"
    );
    assert!(!format!("{registry:?}").contains("abc"));
}

#[test]
fn secrets_are_masked_in_text() {
    let registry = Registry::with_environment(Environment::default());
    let mut o = StoreOptions::new();
    o.set("http.query", "sig=s3cr3t").unwrap();
    o.set("http.timeout", "5s").unwrap();
    o.set("aws.secret_access_key", "SECRETKEY").unwrap();
    registry.configure(&url("https://host/a.tif"), &o).unwrap();
    let text =
        registry.redact("GET https://host/a.tif?sig=s3cr3t failed (SECRETKEY) after 5s");
    assert_eq!(text, "GET https://host/a.tif?*** failed (***) after 5s");
    assert_eq!(
        redact_location("https://u:pw@host/c.json?sig=abc"),
        "https://u:***@host/c.json?***"
    );
    assert_eq!(
        redact_location("catalog/collection.json"),
        "catalog/collection.json"
    );
}
