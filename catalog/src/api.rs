//! STAC API search: `POST /search` with the filter as bbox, datetime,
//! collections, ids, intersects and a CQL2-JSON `filter`; pages followed through
//! `next` links (GET, or POST with `body`/`merge`); retries with exponential
//! backoff on connection failures, timeouts, 429 and 5xx.
//!
//! Items are checked against the filter again on arrival, so a server that
//! ignores part of a search (no filter extension, say) still gives right answers.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Map, Value};
use url::Url;

use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::item::resolve_href;
use crate::json::{Obj, parse};
use crate::load::{LoadOptions, Loaded};
use crate::stores::store_key;
use crate::walk::item_collection;

/// STAC API paging and retry settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiOptions {
    /// Items per page asked of the server (`limit`).
    pub page_size: u32,
    /// Attempts per request before giving up (at least 1).
    pub max_attempts: u32,
    /// The wait before the first retry; doubled each time.
    pub initial_backoff: Duration,
    /// The longest wait between retries (also caps `Retry-After`).
    pub max_backoff: Duration,
    /// The timeout of one request.
    pub timeout: Duration,
    /// Stop paging once this many matching items have arrived (`None`: all).
    pub max_items: Option<usize>,
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions {
            page_size: 250,
            max_attempts: 5,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            max_items: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Request {
    Get(Url),
    Post(Url, Value),
}

impl Request {
    fn url(&self) -> &Url {
        match self {
            Request::Get(url) | Request::Post(url, _) => url,
        }
    }
}

/// The `/search` endpoint of an API given by its root or its search URL.
fn search_endpoint(url: &Url) -> Url {
    if url.path().trim_end_matches('/').ends_with("/search") {
        return url.clone();
    }
    let mut root = url.clone();
    if !root.path().ends_with('/') {
        root.set_path(&format!("{}/", root.path()));
    }
    root.join("search").unwrap_or_else(|_| url.clone())
}

fn client(api: &ApiOptions, url: &Url) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(api.timeout)
        .build()
        .map_err(|e| Error::Api {
            url: url.to_string(),
            message: format!("cannot build the HTTP client: {e}"),
        })
}

/// The spatial extent (the first, overall bbox of `extent.spatial.bbox`) of the
/// collection `id` of the API at `url` (`GET {root}/collections/{id}`); `None`
/// when the collection gives none.
pub async fn collection_bbox(
    url: &Url,
    id: &str,
    options: &LoadOptions,
) -> Result<Option<crate::item::Bbox>> {
    let api = &options.api;
    let root = api_root(&search_endpoint(url));
    let mut collection = root.clone();
    collection
        .path_segments_mut()
        .map_err(|()| Error::Api {
            url: root.to_string(),
            message: "not a base URL".into(),
        })?
        .pop_if_empty()
        .extend(["collections", id]);
    let client = client(api, &collection)?;
    let (value, _) = send(
        &client,
        &Request::Get(collection.clone()),
        api,
        options.limits.max_document_bytes,
    )
    .await?;
    let first = value
        .pointer("/extent/spatial/bbox/0")
        .and_then(Value::as_array)
        .map(|b| b.iter().filter_map(Value::as_f64).collect::<Vec<_>>());
    Ok(first.and_then(|b| crate::item::Bbox::from_slice(&b).ok()))
}

/// The API's landing page, from its `/search` endpoint.
fn api_root(endpoint: &Url) -> Url {
    let mut root = endpoint.clone();
    let path = root
        .path()
        .trim_end_matches('/')
        .trim_end_matches("search")
        .to_string();
    root.set_path(&path);
    root
}

/// Run the search and put the matching items in `out`.
pub(crate) async fn search(
    url: &Url,
    filter: &Filter,
    options: &LoadOptions,
    out: &mut Loaded,
) -> Result<()> {
    let api = &options.api;
    let endpoint = search_endpoint(url);
    let client = client(api, &endpoint)?;
    let origin = store_key(&endpoint);
    let mut body = filter.to_search_body(api.page_size)?;
    if let Some(fields) = body.as_object_mut()
        && fields.contains_key("filter")
        && !supports_filter(&client, &endpoint, api, options, out).await?
    {
        // The server does not declare the filter extension: send the rest of the
        // search and apply the predicates here (every item is checked anyway).
        fields.remove("filter");
        fields.remove("filter-lang");
    }
    let mut request = Request::Post(endpoint.clone(), body);
    let mut previous: Vec<Request> = Vec::new();
    for page in 1.. {
        if page > options.limits.max_pages {
            return Err(Error::Limit {
                location: endpoint.to_string(),
                what: "number of pages",
                value: page as u64,
                limit: options.limits.max_pages as u64,
            });
        }
        let (value, bytes) =
            send(&client, &request, api, options.limits.max_document_bytes).await?;
        out.stats.documents += 1;
        out.stats.bytes += bytes;
        let location = format!("{} (page {page})", request.url());
        item_collection(&value, request.url(), &location, filter, options, out)?;
        if api.max_items.is_some_and(|max| out.items.len() >= max) {
            break;
        }
        let Some(next) = next_request(&value, &request, &location)? else {
            break;
        };
        if store_key(next.url()) != origin {
            return Err(Error::Api {
                url: next.url().to_string(),
                message: format!(
                    "the `next` link of {location} leaves {origin}; not followed"
                ),
            });
        }
        if next == request || previous.contains(&next) {
            return Err(Error::Api {
                url: next.url().to_string(),
                message: format!("the `next` link of {location} repeats an earlier page"),
            });
        }
        previous.push(std::mem::replace(&mut request, next));
    }
    Ok(())
}

/// Whether the API declares CQL2 filtering among its conformance classes (the
/// landing page's `conformsTo`, else `/conformance`).
async fn supports_filter(
    client: &reqwest::Client,
    endpoint: &Url,
    api: &ApiOptions,
    options: &LoadOptions,
    out: &mut Loaded,
) -> Result<bool> {
    let max = options.limits.max_document_bytes;
    let root = api_root(endpoint);
    let (landing, bytes) = send(client, &Request::Get(root.clone()), api, max).await?;
    out.stats.documents += 1;
    out.stats.bytes += bytes;
    let classes = match landing.get("conformsTo") {
        Some(classes) => classes.clone(),
        None => {
            let conformance = root.join("conformance").map_err(|e| Error::Api {
                url: root.to_string(),
                message: e.to_string(),
            })?;
            let (value, bytes) =
                send(client, &Request::Get(conformance), api, max).await?;
            out.stats.documents += 1;
            out.stats.bytes += bytes;
            value.get("conformsTo").cloned().unwrap_or(Value::Null)
        }
    };
    Ok(classes.as_array().is_some_and(|classes| {
        classes.iter().filter_map(Value::as_str).any(|c| {
            c.ends_with("/filter")
                || c.contains("item-search#filter")
                || c.contains("cql2-json")
        })
    }))
}

/// The request for the next page, from the `next` link.
fn next_request(
    page: &Value,
    current: &Request,
    location: &str,
) -> Result<Option<Request>> {
    let obj = Obj::root(page, location)?;
    for (path, link) in obj.opt_objects("links")? {
        let link = Obj {
            map: link,
            location,
            path: &path,
        };
        if link.string("rel")? != "next" {
            continue;
        }
        let href = link.string("href")?;
        let url =
            resolve_href(href, Some(current.url())).map_err(|m| link.error("href", m))?;
        let method = link.opt_string("method")?.unwrap_or("GET");
        if method.eq_ignore_ascii_case("GET") {
            return Ok(Some(Request::Get(url)));
        }
        if !method.eq_ignore_ascii_case("POST") {
            return Err(link.error("method", format!("unsupported method {method:?}")));
        }
        let previous_body = match current {
            Request::Post(_, body) => body.as_object().cloned().unwrap_or_default(),
            Request::Get(_) => Map::new(),
        };
        let link_body = link.opt_object("body")?.cloned();
        let merge = link.get("merge").and_then(Value::as_bool).unwrap_or(false);
        let body = match (link_body, merge) {
            (Some(b), true) => {
                let mut merged = previous_body;
                merged.extend(b);
                merged
            }
            (Some(b), false) => b,
            (None, _) => previous_body,
        };
        return Ok(Some(Request::Post(url, Value::Object(body))));
    }
    Ok(None)
}

/// Send one request with retries; returns the JSON and its size.
async fn send(
    client: &reqwest::Client,
    request: &Request,
    api: &ApiOptions,
    max_bytes: u64,
) -> Result<(Value, u64)> {
    let url = request.url().to_string();
    let api_err = |message: String| Error::Api {
        url: url.clone(),
        message,
    };
    let mut backoff = api.initial_backoff;
    let attempts = api.max_attempts.max(1);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let builder = match request {
            Request::Get(u) => client.get(u.clone()),
            Request::Post(u, body) => client
                .post(u.clone())
                .header("content-type", "application/json")
                .body(body.to_string()),
        };
        let outcome = builder
            .header("accept", "application/geo+json, application/json")
            .send()
            .await;
        let retry_after = match outcome {
            Ok(response) if response.status().is_success() => {
                if response.content_length().is_some_and(|n| n > max_bytes) {
                    return Err(api_err(format!(
                        "response larger than {max_bytes} bytes"
                    )));
                }
                let bytes = response
                    .bytes()
                    .await
                    .map_err(|e| api_err(format!("reading the response: {e}")))?;
                if bytes.len() as u64 > max_bytes {
                    return Err(api_err(format!(
                        "response larger than {max_bytes} bytes"
                    )));
                }
                return Ok((parse(&bytes, &url)?, bytes.len() as u64));
            }
            Ok(response) => {
                let status = response.status();
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let transient =
                    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
                if !transient || attempt >= attempts {
                    let text = response.text().await.unwrap_or_default();
                    let text: String = text.chars().take(500).collect();
                    let tries = if attempt > 1 {
                        format!(" after {attempt} attempts")
                    } else {
                        String::new()
                    };
                    return Err(api_err(format!(
                        "HTTP {status}{tries}: {}",
                        text.trim()
                    )));
                }
                retry_after
            }
            Err(e) => {
                let transient = e.is_timeout() || e.is_connect() || e.is_request();
                if !transient || attempt >= attempts {
                    return Err(api_err(format!(
                        "request failed after {attempt} attempt(s): {e}"
                    )));
                }
                None
            }
        };
        let wait = retry_after.unwrap_or(backoff).min(api.max_backoff);
        tokio::time::sleep(wait).await;
        backoff = (backoff * 2).min(api.max_backoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn endpoints() {
        let e = |s: &str| search_endpoint(&Url::parse(s).unwrap()).to_string();
        assert_eq!(e("https://x.org/v1"), "https://x.org/v1/search");
        assert_eq!(e("https://x.org/v1/"), "https://x.org/v1/search");
        assert_eq!(
            e("http://127.0.0.1:8080/search"),
            "http://127.0.0.1:8080/search"
        );
        assert_eq!(e("http://127.0.0.1:8080"), "http://127.0.0.1:8080/search");
    }

    #[test]
    fn next_links() {
        let url = Url::parse("http://h/search").unwrap();
        let current =
            Request::Post(url.clone(), json!({"limit": 5, "collections": ["a"]}));
        let page = json!({"links": [{"rel": "next", "href": "http://h/search", "method": "POST", "body": {"token": "t2"}, "merge": true}]});
        let next = next_request(&page, &current, "p").unwrap().unwrap();
        assert_eq!(
            next,
            Request::Post(
                url.clone(),
                json!({"limit": 5, "collections": ["a"], "token": "t2"})
            )
        );
        let page = json!({"links": [{"rel": "next", "href": "?token=abc"}]});
        let next = next_request(&page, &current, "p").unwrap().unwrap();
        assert_eq!(
            next,
            Request::Get(Url::parse("http://h/search?token=abc").unwrap())
        );
        assert_eq!(
            next_request(&json!({"links": []}), &current, "p").unwrap(),
            None
        );
    }
}
