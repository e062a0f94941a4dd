//! What a client may do on the server: read under `--allow-root`, write under
//! `--output-root`, SET only settings that change how results look, never the
//! server's limits, and no store option that sends the server's credentials
//! elsewhere or reads a file of the server's.

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::logical_expr::{DdlStatement, LogicalPlan, Statement};
use swath_store::{Access, AccessRoots};
use tonic::Status;

/// Settings a client may SET: how results are shown and how SQL is parsed.
const SETTABLE: &[&str] = &[
    "datafusion.format.",
    "datafusion.sql_parser.",
    "datafusion.explain.",
    "datafusion.execution.time_zone",
];

/// Store options a client may not give: they redirect requests (with the
/// server's credentials) or name files on the server.
const STORE_OPTIONS_REFUSED: &[&str] = &[
    "endpoint",
    "proxy",
    "authority",
    "credentials_relative_uri",
    "container_credentials",
    "msi",
    "imds",
    "token_file",
    "service_account",
    "application_credentials",
    "config_file",
    "use_fabric",
];

/// Check every node of `plan` against the server's rules.
pub fn check(plan: &LogicalPlan, roots: &AccessRoots) -> Result<(), Status> {
    let mut refused: Option<Status> = None;
    let _ = plan.apply(|node| {
        if let Err(status) = check_node(node, roots) {
            refused = Some(status);
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    match refused {
        Some(status) => Err(status),
        None => Ok(()),
    }
}

fn check_node(node: &LogicalPlan, roots: &AccessRoots) -> Result<(), Status> {
    match node {
        LogicalPlan::Statement(Statement::SetVariable(set)) => settable(&set.variable),
        LogicalPlan::Statement(Statement::ResetVariable(reset)) => {
            settable(&reset.variable)
        }
        LogicalPlan::Copy(copy) => {
            let url = absolute(&copy.output_url)?;
            roots
                .check(&url, Access::Write)
                .map_err(Status::permission_denied)?;
            store_options(copy.options.keys())
        }
        LogicalPlan::Ddl(DdlStatement::CreateExternalTable(create)) => {
            for location in &create.locations {
                let url = absolute(location)?;
                roots
                    .check(&url, Access::Read)
                    .map_err(Status::permission_denied)?;
            }
            store_options(create.options.keys())
        }
        _ => Ok(()),
    }
}

fn settable(variable: &str) -> Result<(), Status> {
    let name = variable.to_ascii_lowercase();
    let name = if name == "timezone" || name == "time zone" {
        "datafusion.execution.time_zone".to_string()
    } else {
        name
    };
    if SETTABLE.iter().any(|p| name.starts_with(p)) {
        return Ok(());
    }
    Err(Status::permission_denied(format!(
        "SET {variable}: runtime settings are fixed by the server (memory limit, \
         partitions, stores); a client may set only datafusion.format.*, \
         datafusion.sql_parser.*, datafusion.explain.* and the time zone"
    )))
}

fn store_options<'a>(keys: impl IntoIterator<Item = &'a String>) -> Result<(), Status> {
    for key in keys {
        let k = key.to_ascii_lowercase();
        if STORE_OPTIONS_REFUSED.iter().any(|bad| k.contains(bad)) {
            return Err(Status::permission_denied(format!(
                "option {key} is not allowed on this server: it would send the server's \
                 credentials elsewhere or read the server's files (set it in the \
                 server's environment instead)"
            )));
        }
    }
    Ok(())
}

/// A location as the URL the session's stores will see (a relative path is
/// under the server's working directory).
fn absolute(location: &str) -> Result<String, Status> {
    ListingTableUrl::parse(location)
        .map(|u| u.as_str().to_string())
        .map_err(|e| Status::invalid_argument(format!("{location}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_and_options() {
        assert!(settable("datafusion.format.null").is_ok());
        assert!(settable("TimeZone").is_ok());
        let e = settable("datafusion.runtime.memory_limit").unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied);
        assert!(settable("datafusion.execution.target_partitions").is_err());
        assert!(settable("swath.http.timeout").is_err());
        let keys = ["aws.endpoint".to_string()];
        assert!(store_options(keys.iter()).is_err());
        let keys = ["aws.region".to_string(), "bands".to_string()];
        assert!(store_options(keys.iter()).is_ok());
        let keys = ["google.service_account".to_string()];
        assert!(store_options(keys.iter()).is_err());
    }
}
