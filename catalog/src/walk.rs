//! Static catalogues: JSON documents read concurrently through the configured
//! stores, `child` and `item` links followed recursively, cycles detected.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::Value;
use url::Url;

use crate::error::{Error, Result, Warning};
use crate::filter::Filter;
use crate::item::{Item, check_document_version, resolve_href};
use crate::json::{Obj, kind, parse};
use crate::load::{LoadOptions, Loaded, OnError};
use crate::stores::Stores;

/// What a document is expected to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Anything STAC; catalogues and collections are walked.
    Any,
    /// A file of a directory or glob: items and ItemCollections are read,
    /// catalogues and collections are passed over (their items are files too).
    ItemFile,
}

struct Task {
    url: Url,
    expect: Expect,
    depth: usize,
    /// The catalogues above this document, to detect cycles.
    ancestors: Arc<Vec<Url>>,
    /// The document and link relation that led here.
    from: Option<(String, String)>,
}

/// Read `roots` (and everything their links lead to) into `out`.
pub(crate) async fn walk(
    roots: Vec<(Url, Expect)>,
    stores: &Stores,
    filter: &Filter,
    options: &LoadOptions,
    out: &mut Loaded,
) -> Result<()> {
    let mut visited: HashSet<Url> = roots.iter().map(|(u, _)| u.clone()).collect();
    let mut queue: VecDeque<Task> = roots
        .into_iter()
        .map(|(url, expect)| Task {
            url,
            expect,
            depth: 0,
            ancestors: Arc::new(Vec::new()),
            from: None,
        })
        .collect();
    let limit = options.limits.max_document_bytes;
    let mut in_flight = FuturesUnordered::new();
    loop {
        while in_flight.len() < options.concurrency.max(1)
            && let Some(task) = queue.pop_front()
        {
            out.stats.documents += 1;
            if out.stats.documents > options.limits.max_documents {
                return Err(Error::Limit {
                    location: task.url.to_string(),
                    what: "number of documents",
                    value: out.stats.documents as u64,
                    limit: options.limits.max_documents as u64,
                });
            }
            in_flight.push(async move {
                let bytes = stores.read(&task.url, limit).await;
                (task, bytes)
            });
        }
        let Some((task, bytes)) = in_flight.next().await else {
            break;
        };
        let location = task.url.to_string();
        let read = bytes.and_then(|b| {
            out.stats.bytes += b.len() as u64;
            parse(&b, &location)
        });
        let value = match (read, &task.from) {
            (Ok(value), _) => value,
            (Err(e), None) if task.expect == Expect::Any => return Err(e),
            (Err(e), None) => {
                skip_or_fail(e, options, out)?;
                continue;
            }
            (Err(e), Some((parent, rel))) => {
                let e = Error::Link {
                    location: parent.clone(),
                    rel: rel.clone(),
                    href: location.clone(),
                    message: e.to_string(),
                };
                skip_or_fail(e, options, out)?;
                continue;
            }
        };
        let result = process(&task, &value, filter, options, out).map(|links| {
            for (url, rel, expect) in links {
                if visited.insert(url.clone()) {
                    let mut ancestors = (*task.ancestors).clone();
                    ancestors.push(task.url.clone());
                    queue.push_back(Task {
                        url,
                        expect,
                        depth: task.depth + 1,
                        ancestors: Arc::new(ancestors),
                        from: Some((location.clone(), rel)),
                    });
                }
            }
        });
        if let Err(e) = result {
            if task.from.is_none() && task.expect == Expect::Any {
                // The document the user named is itself wrong.
                return Err(e);
            }
            skip_or_fail(e, options, out)?;
        }
    }
    Ok(())
}

/// Fail, or record a warning when the user asked to skip bad items.
pub(crate) fn skip_or_fail(
    e: Error,
    options: &LoadOptions,
    out: &mut Loaded,
) -> Result<()> {
    match options.on_error {
        OnError::Fail => Err(e),
        OnError::Skip => {
            out.warnings.push(Warning::from(&e));
            Ok(())
        }
    }
}

/// Read one document; returns the links to follow.
fn process(
    task: &Task,
    value: &Value,
    filter: &Filter,
    options: &LoadOptions,
    out: &mut Loaded,
) -> Result<Vec<(Url, String, Expect)>> {
    let location = task.url.as_str();
    let obj = Obj::root(value, location)?;
    let doc_type = match obj.map.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(other) => {
            return Err(
                obj.error("type", format!("expected a string, found {}", kind(other)))
            );
        }
        None => {
            return Err(obj.error(
                "type",
                "required field is missing (not a STAC Item, ItemCollection, Catalog or Collection)",
            ));
        }
    };
    match doc_type {
        "Feature" => {
            let item = Item::from_json(value, Some(&task.url), location)?;
            accept(item, filter, out)?;
            Ok(Vec::new())
        }
        "FeatureCollection" => {
            item_collection(value, &task.url, location, filter, options, out)?;
            Ok(Vec::new())
        }
        "Catalog" | "Collection" if task.expect == Expect::ItemFile => Ok(Vec::new()),
        "Catalog" | "Collection" => {
            check_document_version(&obj)?;
            let id = obj.string("id")?;
            let wanted_collection = doc_type != "Collection"
                || filter.collections.is_empty()
                || filter.collections.iter().any(|c| c == id);
            links(task, &obj, wanted_collection, options)
        }
        other => Err(obj.error(
            "type",
            format!(
                "{other:?} is not a STAC Item, ItemCollection, Catalog or Collection"
            ),
        )),
    }
}

fn links(
    task: &Task,
    obj: &Obj<'_>,
    follow_items: bool,
    options: &LoadOptions,
) -> Result<Vec<(Url, String, Expect)>> {
    let mut next = Vec::new();
    for (path, link) in obj.opt_objects("links")? {
        let link = Obj {
            map: link,
            location: obj.location,
            path: &path,
        };
        let rel = link.string("rel")?;
        if rel != "child" && !(rel == "item" && follow_items) {
            continue;
        }
        let href = link.string("href")?;
        let url =
            resolve_href(href, Some(&task.url)).map_err(|m| link.error("href", m))?;
        if url == task.url || task.ancestors.contains(&url) {
            return Err(Error::Link {
                location: obj.location.to_string(),
                rel: rel.to_string(),
                href: url.to_string(),
                message: "link cycle: the target is this document or one of its parents"
                    .into(),
            });
        }
        if task.depth + 1 > options.limits.max_depth {
            return Err(Error::Limit {
                location: obj.location.to_string(),
                what: "link depth",
                value: (task.depth + 1) as u64,
                limit: options.limits.max_depth as u64,
            });
        }
        next.push((url, rel.to_string(), Expect::Any));
    }
    Ok(next)
}

/// Read the features of an ItemCollection (a file or an API page).
pub(crate) fn item_collection(
    value: &Value,
    base: &Url,
    location: &str,
    filter: &Filter,
    options: &LoadOptions,
    out: &mut Loaded,
) -> Result<()> {
    let obj = Obj::root(value, location)?;
    let features = match obj.map.get("features") {
        Some(Value::Array(features)) => features,
        Some(other) => {
            return Err(obj.error(
                "features",
                format!("expected an array, found {}", kind(other)),
            ));
        }
        None => return Err(obj.error("features", "required field is missing")),
    };
    for (i, feature) in features.iter().enumerate() {
        let location = format!("{location}#features[{i}]");
        let result = Item::from_json(feature, Some(base), &location)
            .and_then(|item| accept(item, filter, out));
        if let Err(e) = result {
            skip_or_fail(e, options, out)?;
        }
    }
    Ok(())
}

/// Count an item and keep it if the filter matches.
pub(crate) fn accept(item: Item, filter: &Filter, out: &mut Loaded) -> Result<()> {
    out.stats.items_read += 1;
    if filter.matches(&item)? {
        out.items.push(item);
    }
    Ok(())
}
