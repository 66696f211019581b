//! Finding the database through the RDS API (`DB_CLUSTER_IDENTIFIER` / `DB_INSTANCE_IDENTIFIER`):
//! endpoint and port, the status (a stopped database is reported as such, not as a connect
//! timeout), and the current writer instance after an Aurora failover.

use std::future::Future;
use std::time::Instant;

use aws_sdk_rds::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_rds::types::DbCluster;
use aws_sdk_rds::Client;

use crate::aws::explain_aws;
use pg_cron_job_core::outcome::{ErrorInfo, ErrorKind};

/// Which database the job names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbRef {
    Cluster(String),
    Instance(String),
}

/// Which endpoint of a cluster the job uses (`DB_ENDPOINT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointKind {
    /// The cluster (writer) endpoint; the job must land on the writer.
    Writer,
    /// The reader endpoint; the job is read-only.
    Reader,
}

/// Where the RDS API says the database is, and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub host: String,
    pub port: u16,
    /// `available`, `stopped`, ... as RDS reports it.
    pub status: String,
}

impl Resolved {
    /// Whether the status means no connection can succeed now (stopped to save money at night,
    /// rebooting, in maintenance, ...).
    pub fn unavailable(&self) -> bool {
        matches!(
            self.status.as_str(),
            "stopped"
                | "stopping"
                | "starting"
                | "rebooting"
                | "maintenance"
                | "creating"
                | "deleting"
                | "failed"
                | "failing-over"
                | "inaccessible-encryption-credentials"
                | "inaccessible-encryption-credentials-recoverable"
                | "incompatible-network"
                | "incompatible-parameters"
                | "incompatible-restore"
                | "insufficient-capacity"
                | "migrating"
                | "renaming"
                | "resetting-master-credentials"
                | "restore-error"
                | "storage-full"
                | "upgrading"
        )
    }
}

fn api_error(what: &str, message: String) -> ErrorInfo {
    ErrorInfo::new(
        ErrorKind::Connect,
        format!("RDS API: cannot {what}: {message}"),
    )
}

fn limit_error(what: &str) -> ErrorInfo {
    api_error(
        what,
        "no answer before the run's deadline (check the route to the RDS API: an rds interface endpoint or NAT)".into(),
    )
}

/// One RDS API call, given up at `limit`; a failure says what the call needed (`access`).
async fn bounded<T, E>(
    call: impl Future<
        Output = Result<T, SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>>,
    >,
    limit: Instant,
    what: &str,
    access: &str,
) -> Result<T, ErrorInfo>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    tokio::time::timeout_at(limit.into(), call)
        .await
        .map_err(|_| limit_error(what))?
        .map_err(|e| api_error(what, explain_aws(&e, "the RDS API", access)))
}

/// Looks the database up: `kind` picks a cluster's writer or reader endpoint.
pub async fn resolve(
    client: &Client,
    db: &DbRef,
    kind: EndpointKind,
    limit: Instant,
) -> Result<Resolved, ErrorInfo> {
    match db {
        DbRef::Instance(id) => instance(client, id, limit).await,
        DbRef::Cluster(id) => {
            let what = "describe the cluster (DB_CLUSTER_IDENTIFIER)";
            let cluster = describe_cluster(client, id, limit, what).await?;
            let host = match kind {
                EndpointKind::Writer => cluster.endpoint(),
                EndpointKind::Reader => cluster.reader_endpoint(),
            }
            .ok_or_else(|| api_error(what, format!("cluster {id} has no endpoint yet")))?;
            Ok(Resolved {
                host: host.to_string(),
                port: port(cluster.port(), what)?,
                status: cluster.status().unwrap_or("unknown").to_string(),
            })
        }
    }
}

/// The endpoint of the cluster's current writer instance (after a failover the cluster
/// endpoint's DNS can still point at the old writer for a while).
pub async fn writer_instance(
    client: &Client,
    cluster_id: &str,
    limit: Instant,
) -> Result<Resolved, ErrorInfo> {
    let what = "find the cluster's writer instance";
    let cluster = describe_cluster(client, cluster_id, limit, what).await?;
    let writer = cluster
        .db_cluster_members()
        .iter()
        .find(|m| m.is_cluster_writer() == Some(true))
        .and_then(|m| m.db_instance_identifier())
        .ok_or_else(|| api_error(what, format!("cluster {cluster_id} has no writer instance")))?
        .to_string();
    instance(client, &writer, limit).await
}

async fn describe_cluster(
    client: &Client,
    id: &str,
    limit: Instant,
    what: &str,
) -> Result<DbCluster, ErrorInfo> {
    let call = client
        .describe_db_clusters()
        .db_cluster_identifier(id)
        .send();
    let out = bounded(call, limit, what, "rds:DescribeDBClusters on the cluster").await?;
    out.db_clusters()
        .first()
        .cloned()
        .ok_or_else(|| api_error(what, format!("no cluster named {id}")))
}

async fn instance(client: &Client, id: &str, limit: Instant) -> Result<Resolved, ErrorInfo> {
    let what = "describe the instance";
    let call = client
        .describe_db_instances()
        .db_instance_identifier(id)
        .send();
    let out = bounded(call, limit, what, "rds:DescribeDBInstances on the instance").await?;
    let db = out
        .db_instances()
        .first()
        .ok_or_else(|| api_error(what, format!("no instance named {id}")))?;
    let endpoint = db.endpoint();
    let host = endpoint
        .and_then(|e| e.address())
        .ok_or_else(|| api_error(what, format!("instance {id} has no endpoint yet")))?;
    Ok(Resolved {
        host: host.to_string(),
        port: port(endpoint.and_then(|e| e.port()), what)?,
        status: db.db_instance_status().unwrap_or("unknown").to_string(),
    })
}

fn port(port: Option<i32>, what: &str) -> Result<u16, ErrorInfo> {
    port.and_then(|p| u16::try_from(p).ok())
        .ok_or_else(|| api_error(what, "the API returned no valid port".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopped_and_rebooting_databases_are_unavailable() {
        let r = |status: &str| Resolved {
            host: "h".into(),
            port: 5432,
            status: status.into(),
        };
        for s in [
            "stopped",
            "stopping",
            "starting",
            "rebooting",
            "maintenance",
        ] {
            assert!(r(s).unavailable(), "{s}");
        }
        for s in [
            "available",
            "backing-up",
            "modifying",
            "storage-optimization",
        ] {
            assert!(!r(s).unavailable(), "{s}");
        }
    }
}
